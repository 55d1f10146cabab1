// The demo's steps, kept apart from yargs so a test can run them.
import { existsSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { makeTinyModel } from "../model/tiny-model.js";
import { VlaModel } from "../model/vla-model.js";
import { VlaPolicy } from "../policy/vla-policy.js";
import type { RawImageMessage } from "../model/image-message.js";

export interface DemoOptions {
  modelsDir: string;
  outDir: string;
  durationS: number;
}

/** Makes the tiny model folder unless one is already there. */
export async function ensureTinyModel(dir: string, seed: number): Promise<void> {
  if (existsSync(path.join(dir, "manifest.json"))) return;
  await makeTinyModel(dir, { seed, name: path.basename(dir) });
}

function syntheticFrame(i: number, width = 640, height = 480): RawImageMessage {
  const data = new Uint8Array(width * height * 3);
  const cx = (width / 2 + Math.sin(i / 5) * width * 0.3) | 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const target = Math.abs(x - cx) < 40 && Math.abs(y - height / 2) < 40;
      data[o] = target ? 30 : 90;
      data[o + 1] = target ? 30 : 110;
      data[o + 2] = target ? 220 : 120;
    }
  }
  return { kind: "raw", width, height, encoding: "bgr8", step: width * 3, isBigEndian: false, data };
}

export async function runDemo(o: DemoOptions): Promise<void> {
  const dir = path.join(o.modelsDir, "tiny-a");
  await ensureTinyModel(dir, 1);
  const model = await VlaModel.load(dir);
  const policy = new VlaPolicy(model);
  policy.setInstruction("Navigate to the gray basket on the left");
  const frames = Math.max(1, Math.round(o.durationS / model.manifest.action_step_s));
  for (let i = 0; i < frames; i++) {
    const t = performance.now();
    const chunk = await policy.step({ stamp: i * model.manifest.action_step_s, image: syntheticFrame(i) });
    const ms = performance.now() - t;
    if (chunk) process.stdout.write(`t=${(i * chunk.stepS).toFixed(1)}s first step (${chunk.actions[0]!.map((v) => v.toFixed(3)).join(", ")}) ${ms.toFixed(1)} ms\n`);
  }
  process.stdout.write(`counters: ${JSON.stringify(policy.counters())}\n`);
  await model.close();
}
