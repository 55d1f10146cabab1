import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { openBag, type BagMessage } from "../src/bags/index.js";
import { projectObject, renderScene, teleopCommand, writeSampleBag, SCENE_OBJECTS, SAMPLE_TOPICS, type SampleBagOptions } from "../synthetic/sample-bag.js";
import { TELEOP_SPEED } from "../src/mobile-vla/teleop.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bag-sample-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(path: string): Promise<BagMessage[]> {
  const bag = await openBag(path);
  const out: BagMessage[] = [];
  for await (const m of bag.messages()) out.push(m);
  await bag.close();
  return out;
}

const W = 160;
const H = 120;

function pixel(img: Uint8Array, u: number, v: number): number[] {
  const i = (v * W + u) * 3;
  return [img[i]!, img[i + 1]!, img[i + 2]!];
}

test("camera model: driving toward the target makes it bigger; driving left moves it right in the image", () => {
  const basket = SCENE_OBJECTS.left;
  const far = projectObject({ x: 0, y: 0 }, basket, W, H)!;
  const near = projectObject({ x: 1.5, y: 0 }, basket, W, H)!;
  assert.ok(near.right - near.left > 1.5 * (far.right - far.left), "grows as the base approaches");
  assert.ok(near.bottom > far.bottom, "its base drops toward the image bottom");
  // The basket is on the left: left of centre, and further out as the base nears it.
  assert.ok(far.right < W / 2 && near.left < far.left);
  const shifted = projectObject({ x: 0, y: 0.5 }, basket, W, H)!;
  assert.ok(shifted.left > far.left, "moving left (+y) slides the scene right");
  // Lined up in front of it: centred.
  const centred = projectObject({ x: 2, y: basket.y }, basket, W, H)!;
  assert.ok(Math.abs((centred.left + centred.right) / 2 - W / 2) < 1e-9);
  assert.equal(projectObject({ x: basket.x + 1, y: 0 }, basket, W, H), undefined, "behind the camera: not drawn");
});

test("render: the target's colour is where the model says, channel order as asked", () => {
  const pose = { x: 1, y: 0.9 };
  const box = projectObject(pose, SCENE_OBJECTS.left, W, H)!;
  const u = Math.round((box.left + box.right) / 2);
  const v = Math.round(box.bottom - 2);
  const rgb = renderScene(pose, W, H, "rgb");
  const bgr = renderScene(pose, W, H, "bgr");
  const gray = pixel(rgb, u, v);
  assert.ok(gray[0] === gray[1] && gray[1] === gray[2] && gray[0]! > 60 && gray[0]! < 170, `gray basket, got ${gray}`);
  const blue = projectObject(pose, SCENE_OBJECTS.right, W, H)!;
  const bu = Math.round((blue.left + blue.right) / 2);
  const bv = Math.round(blue.bottom - 2);
  if (bu >= 0 && bu < W) {
    const [r, , b] = pixel(rgb, bu, bv);
    assert.ok(b! > r! + 100, "blue box is blue in rgb order");
    const [b2, , r2] = pixel(bgr, bu, bv);
    assert.deepEqual([r2, b2], [r, b], "bgr swaps the first and last channel");
  }
  for (let i = 0; i < rgb.length; i += 3) {
    assert.equal(bgr[i], rgb[i + 2]);
    assert.equal(bgr[i + 2], rgb[i]);
  }
  // Floor below the horizon differs from the wall above it.
  assert.notDeepEqual(pixel(rgb, 2, 2), pixel(rgb, 2, H - 2));
});

test("teleop: 8 directions + stop with components of 1.15, stopping at the stand-off point", () => {
  const basket = SCENE_OBJECTS.left;
  assert.deepEqual(teleopCommand({ x: 0, y: 0 }, "left"), { x: TELEOP_SPEED, y: TELEOP_SPEED });
  assert.deepEqual(teleopCommand({ x: 0, y: 0 }, "right"), { x: TELEOP_SPEED, y: -TELEOP_SPEED });
  assert.deepEqual(teleopCommand({ x: 0, y: basket.y }, "left"), { x: TELEOP_SPEED, y: 0 });
  assert.deepEqual(teleopCommand({ x: basket.x - 0.8, y: basket.y }, "left"), { x: 0, y: 0 });
  assert.deepEqual(teleopCommand({ x: basket.x - 0.2, y: basket.y + 0.5 }, "left"), { x: -TELEOP_SPEED, y: -TELEOP_SPEED });
});

test("sample bag: teleop reaches the target, stops, starts a new episode; the instruction change redirects it", async () => {
  const opts: SampleBagOptions = {
    durationS: 30,
    width: 32,
    height: 24,
    rateHz: 5,
    instructionChange: { atS: 20, instruction: "Navigate to the blue box on the right", target: "right" },
    cameraGap: { startS: 4, durationS: 2 },
  };
  const res = await writeSampleBag(join(dir, "episodes"), opts);
  assert.ok(res.episodes >= 2, `episodes ${res.episodes}`);
  const msgs = await collect(res.dir);
  const t0 = 1_700_000_000;
  const instr = msgs.filter((m) => m.topic === SAMPLE_TOPICS.instruction);
  assert.deepEqual(
    instr.map((m) => [m.logTime - t0, m.message?.kind === "string" ? m.message.data : ""]),
    [
      [0, "Navigate to the gray basket on the left"],
      [20, "Navigate to the blue box on the right"],
    ],
  );
  const cmds = msgs.flatMap((m) => (m.message?.kind === "twist" ? [{ t: m.logTime - t0, x: m.message.linear.x, y: m.message.linear.y }] : []));
  assert.equal(cmds.length, 75);
  const stops = cmds.filter((c) => c.x === 0 && c.y === 0);
  assert.ok(
    stops.some((c) => c.t < 20),
    "stopped at the basket before the change",
  );
  // Before the change it heads left (+y) when it moves sideways; after, right.
  assert.ok(cmds.filter((c) => c.t < 20).every((c) => c.y >= 0));
  assert.ok(cmds.some((c) => c.t > 20 && c.y < 0));
  // A stop is held about 2 s (5 actions) then the base restarts from a new pose and drives again.
  const firstStop = cmds.findIndex((c) => c.x === 0 && c.y === 0);
  assert.ok(cmds.slice(firstStop, firstStop + 5).every((c) => c.x === 0 && c.y === 0));
  assert.ok(cmds.slice(firstStop + 5, firstStop + 8).some((c) => c.x !== 0 || c.y !== 0));

  const frames = msgs.filter((m) => m.topic === SAMPLE_TOPICS.image);
  assert.equal(frames.length, 150 - 10);
  const captured = frames.map((m) => (m.message?.kind === "image" ? m.message.header.stamp - t0 : NaN));
  assert.ok(
    captured.every((t) => t < 4 - 1e-9 || t >= 6 - 1e-9),
    "no frames in the 2 s camera gap",
  );
  assert.ok(captured.some((t) => Math.abs(t - 3.8) < 1e-6) && captured.some((t) => Math.abs(t - 6) < 1e-6));
});

test("sample bag image options: rgb8 is the bgr8 frame with channels swapped; jpeg-only bag has no raw topic", async () => {
  const base: SampleBagOptions = { durationS: 0.5, width: 48, height: 36, rateHz: 4 };
  const bgr = await collect((await writeSampleBag(join(dir, "bgr"), base)).dir);
  const rgb = await collect((await writeSampleBag(join(dir, "rgb"), { ...base, encoding: "rgb8" })).dir);
  const a = bgr.find((m) => m.message?.kind === "image")!.message;
  const b = rgb.find((m) => m.message?.kind === "image")!.message;
  assert.ok(a?.kind === "image" && b?.kind === "image");
  assert.equal(a.image.encoding, "bgr8");
  assert.equal(b.image.encoding, "rgb8");
  for (let i = 0; i < a.image.data.length; i += 3) {
    assert.deepEqual([b.image.data[i], b.image.data[i + 1], b.image.data[i + 2]], [a.image.data[i + 2], a.image.data[i + 1], a.image.data[i]]);
  }

  const jpeg = await writeSampleBag(join(dir, "jpeg"), { ...base, images: "compressed" });
  const bag = await openBag(jpeg.dir);
  assert.deepEqual(
    bag.topics().map((t) => t.name),
    [SAMPLE_TOPICS.compressed, SAMPLE_TOPICS.cmdVel, SAMPLE_TOPICS.instruction],
  );
  await bag.close();
  const j = (await collect(jpeg.dir)).find((m) => m.message?.kind === "compressed_image")!.message;
  assert.ok(j?.kind === "compressed_image");
  // The JPEG holds the same scene: decoded, close to the raw rgb frame.
  const { data } = await sharp(j.image.data).raw().toBuffer({ resolveWithObject: true });
  let err = 0;
  for (let i = 0; i < data.length; i++) err += Math.abs(data[i]! - b.image.data[i]!);
  assert.ok(err / data.length < 12, `mean abs error ${err / data.length}`);
});

test("stamped cmd_vel option publishes TwistStamped with the log time as stamp", async () => {
  const res = await writeSampleBag(join(dir, "stamped"), { durationS: 1, width: 16, height: 12, rateHz: 2, stampedCmdVel: true });
  const msgs = await collect(res.dir);
  const cmd = msgs.find((m) => m.topic === SAMPLE_TOPICS.cmdVel)!;
  assert.equal(cmd.type, "geometry_msgs/msg/TwistStamped");
  assert.ok(cmd.message?.kind === "twist");
  assert.equal(cmd.message.header?.stamp, cmd.logTime);
  assert.equal(cmd.message.header?.frame_id, "base_link");
});
