import { repoPath } from "./fixtures/repo-path.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { ParamsError } from "../src/params/param-table.js";
import { DEFAULT_PARAMS, PARAMS, PARAM_NAMES, frameIntervalS, modelLoadOptions, parseParams, pickParams } from "../src/params/table.js";
import { YARGS_OPTIONS } from "../src/params/yargs.js";
import { paramsMarkdown } from "../src/params/markdown.js";
import { loadParamsFile, rosParamsFromYaml } from "../src/params/ros-file.js";

const CONFIG = repoPath("config", "vla_policy.yaml");

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseParams(raw);
  } catch (e) {
    assert.ok(e instanceof ParamsError, `expected a ParamsError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be refused`);
}

test("the table has exactly the documented names, and its defaults are the documented ones", () => {
  assert.deepEqual(PARAM_NAMES, [
    "model",
    "precision",
    "provider",
    "threads",
    "graph_optimization",
    "instruction",
    "image_source",
    "image_service",
    "image_service_type",
    "frame_interval_s",
    "window_fill",
    "control_rate_hz",
    "aggregation",
    "ensemble_k",
    "limit_mode",
    "max_linear_x",
    "max_linear_y",
    "max_accel",
    "max_decel",
    "deadband",
    "watchdog_timeout_s",
    "stamped",
    "frame_id",
    "autostart",
  ]);
  assert.deepEqual(parseParams({}), {
    model: "",
    precision: "fp32",
    provider: "cpu",
    threads: 0,
    graph_optimization: "all",
    instruction: "",
    image_source: "topic",
    image_service: "get_image_service",
    image_service_type: "camera_interfaces/srv/GetImage",
    frame_interval_s: null,
    window_fill: "grow",
    control_rate_hz: 20,
    aggregation: "latest",
    ensemble_k: 0.01,
    limit_mode: "direction",
    max_linear_x: 1.0,
    max_linear_y: 1.0,
    max_accel: 2.0,
    max_decel: 4.0,
    deadband: 0.05,
    watchdog_timeout_s: 1.0,
    stamped: false,
    frame_id: "base_link",
    autostart: true,
  });
  assert.deepEqual(parseParams({}), { ...DEFAULT_PARAMS });
});

test("command-line strings parse to the table's types", () => {
  const p = parseParams({
    model: "models/tiny",
    precision: "int8",
    provider: "cuda",
    threads: "4",
    graph_optimization: "basic",
    instruction: "go to the basket",
    frame_interval_s: "0.5",
    window_fill: "pad",
    control_rate_hz: "30",
    aggregation: "ensemble",
    ensemble_k: "0.1",
    limit_mode: "per_axis",
    max_linear_x: "1.15",
    max_linear_y: "0.8",
    max_accel: "inf",
    max_decel: "0",
    deadband: "0",
    watchdog_timeout_s: "2.5",
    stamped: "true",
    frame_id: "base",
    image_source: "service",
    image_service: "/cam/get",
    image_service_type: "my_cam/srv/Grab",
    autostart: "false",
  });
  assert.deepEqual(p, {
    model: "models/tiny",
    precision: "int8",
    provider: "cuda",
    threads: 4,
    graph_optimization: "basic",
    instruction: "go to the basket",
    frame_interval_s: 0.5,
    window_fill: "pad",
    control_rate_hz: 30,
    aggregation: "ensemble",
    ensemble_k: 0.1,
    limit_mode: "per_axis",
    max_linear_x: 1.15,
    max_linear_y: 0.8,
    max_accel: Infinity,
    max_decel: 0,
    deadband: 0,
    watchdog_timeout_s: 2.5,
    stamped: true,
    frame_id: "base",
    image_source: "service",
    image_service: "/cam/get",
    image_service_type: "my_cam/srv/Grab",
    autostart: false,
  });
  assert.deepEqual(problemsOf({ image_source: "usb", image_service_type: "GetImage" }), [
    'image_source: expected one of "topic", "service", got "usb"',
    'image_service_type: expected a service type like camera_interfaces/srv/GetImage, got "GetImage"',
  ]);
  assert.equal(parseParams({ stamped: "FALSE" }).stamped, false);
  assert.equal(parseParams({ control_rate_hz: "1e1" }).control_rate_hz, 10);
});

test('frame_interval_s: null, 0, "auto" and "null" all mean the manifest\'s action_step_s', () => {
  for (const raw of [null, 0, "0", "auto", "null", ""]) {
    const p = parseParams({ frame_interval_s: raw });
    assert.equal(p.frame_interval_s, null, `raw ${JSON.stringify(raw)}`);
    assert.equal(frameIntervalS(p, 0.4), 0.4);
  }
  assert.equal(frameIntervalS(parseParams({ frame_interval_s: 0.25 }), 0.4), 0.25);
});

test("every bad parameter is reported at once, each naming the parameter and what was expected", () => {
  const problems = problemsOf({
    control_rate_hz: -1,
    max_linear_x: 0,
    aggregation: "mean",
    window_fill: "fill",
    bogus: 1,
    threads: 1.5,
    watchdog_timeout_s: "soon",
    stamped: "yes",
    provider: "gpu",
    frame_interval_s: -0.4,
    max_accel: -2,
    ensemble_k: "NaN",
    precision: "fp16",
  });
  const byName = (n: string) => problems.find((p) => p.startsWith(`${n}:`));
  assert.equal(problems.length, 13, problems.join("\n"));
  assert.match(byName("control_rate_hz")!, /expected a number > 0, got -1/);
  assert.match(byName("max_linear_x")!, /expected a number > 0, got 0/);
  assert.match(byName("aggregation")!, /expected one of "latest", "ensemble", got "mean"/);
  assert.match(byName("window_fill")!, /expected one of "grow", "pad", "wait", got "fill"/);
  assert.match(byName("bogus")!, /unknown parameter; known: model, precision, provider/);
  assert.match(byName("threads")!, /expected an integer >= 0, got 1.5/);
  assert.match(byName("watchdog_timeout_s")!, /got "soon"/);
  assert.match(byName("stamped")!, /expected true or false, got "yes"/);
  assert.match(byName("provider")!, /expected one of "cpu", "cuda", "tensorrt"/);
  assert.match(byName("frame_interval_s")!, /expected a number of seconds > 0/);
  assert.match(byName("max_accel")!, /expected a number >= 0 \(inf allowed\), got -2/);
  assert.match(byName("ensemble_k")!, /got "NaN"/);
  assert.match(byName("precision")!, /expected one of "fp32", "int8", got "fp16"/);
  assert.match(String(new ParamsError(problems).message), /invalid parameters \(13\)/);
});

test("wrong YAML types are refused rather than coerced", () => {
  const problems = problemsOf({ model: 3, frame_id: "", max_linear_y: true, instruction: ["a"] });
  assert.deepEqual(problems.map((p) => p.split(":")[0]).sort(), ["frame_id", "instruction", "max_linear_y", "model"]);
});

test("a deadband at or above a max speed is refused: that axis could never move", () => {
  const problems = problemsOf({ deadband: 0.5, max_linear_y: 0.5 });
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^deadband: expected less than max_linear_y \(0.5\), got 0.5/);
  assert.equal(parseParams({ deadband: 0.49, max_linear_y: 0.5 }).deadband, 0.49);
});

test("config/vla_policy.yaml parses through parseParams and lists exactly the table's names, with a comment each", async () => {
  const text = await readFile(CONFIG, "utf8");
  const doc = parseYaml(text) as { vla_policy: { ros__parameters: Record<string, unknown> } };
  assert.deepEqual(Object.keys(doc.vla_policy.ros__parameters).sort(), [...PARAM_NAMES].sort());
  const p = await loadParamsFile(CONFIG);
  // The shipped file documents the defaults; the model path is the user's to fill in.
  assert.deepEqual(p, { ...DEFAULT_PARAMS });
  const lines = text.split("\n");
  for (const name of PARAM_NAMES) {
    const i = lines.findIndex((l) => l.trim().startsWith(`${name}:`));
    assert.ok(i > 0 && lines[i - 1].trim().startsWith("#"), `${name} needs a comment line above it`);
  }
});

test("ROS params files: the /** section applies to every node, the node's own section overrides it", () => {
  const raw = rosParamsFromYaml(
    ["/**:", "  ros__parameters:", "    control_rate_hz: 10", "    stamped: true", "vla_policy:", "  ros__parameters:", "    control_rate_hz: 30"].join("\n"),
  );
  assert.deepEqual(parseParams(raw).control_rate_hz, 30);
  assert.deepEqual(parseParams(raw).stamped, true);
  assert.throws(() => rosParamsFromYaml("other_node:\n  ros__parameters: {}\n"), /no section for node "vla_policy"/);
  assert.throws(() => rosParamsFromYaml("vla_policy:\n  ros__parameters: 3\n"), /ros__parameters to be a mapping/);
});

test("yargs options come from the table: every name, its type, default and description", () => {
  assert.deepEqual(Object.keys(YARGS_OPTIONS), PARAM_NAMES);
  assert.deepEqual(YARGS_OPTIONS.threads, { type: "number", default: 0, describe: PARAMS.threads.description });
  assert.deepEqual(YARGS_OPTIONS.stamped.type, "boolean");
  assert.deepEqual(YARGS_OPTIONS.aggregation.type, "string");
  assert.equal(YARGS_OPTIONS.frame_interval_s.default, null);
  assert.match(YARGS_OPTIONS.max_accel.describe, /\[m\/s\^2\]$/);
  // What yargs hands back (with _ and $0) goes through pickParams into parseParams.
  const argv = { _: ["run"], $0: "mobile-vla", ...Object.fromEntries(PARAM_NAMES.map((n) => [n, YARGS_OPTIONS[n].default])), control_rate_hz: 15 };
  assert.equal(parseParams(pickParams(argv)).control_rate_hz, 15);
});

test("the markdown table has a header and one row per parameter with unit and default", () => {
  const md = paramsMarkdown().trim().split("\n");
  assert.equal(md[0], "| name | type | unit | default | applies | description |");
  assert.equal(md.length, 2 + PARAM_NAMES.length);
  const row = md.find((l) => l.startsWith("| `max_accel` |"));
  assert.match(row!, /^\| `max_accel` \| number \| m\/s\^2 \| `2` \| live \| /);
  assert.match(md.find((l) => l.startsWith("| `frame_interval_s` |"))!, /\| s \| null \|/);
});

test("modelLoadOptions carries the precision and the onnxruntime settings, the form VlaModel.load takes", () => {
  assert.deepEqual(modelLoadOptions(parseParams({ precision: "int8", provider: "cuda", threads: 2, graph_optimization: "basic" })), {
    precision: "int8",
    runtime: { provider: "cuda", threads: 2, graphOptimization: "basic" },
  });
  assert.equal(modelLoadOptions(DEFAULT_PARAMS).precision, "fp32");
});

test("absurd rates and intervals are refused before any work starts, naming the bound", () => {
  const problems = problemsOf({ control_rate_hz: 1e9, frame_interval_s: 1e-9, threads: 1e6, instruction: "go ".repeat(600_000) });
  const byName = (n: string) => problems.find((p) => p.startsWith(`${n}:`));
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.match(byName("control_rate_hz")!, /expected a number <= 1000, got 1000000000/);
  assert.match(byName("frame_interval_s")!, /expected a number of seconds in \[0\.01, 60\], or 0\/null for the manifest's action_step_s, got 1e-9/);
  assert.match(byName("threads")!, /expected an integer <= 1024, got 1000000/);
  assert.match(byName("instruction")!, /expected 1800000 characters, more than the 4096 an instruction may have/);
  assert.equal(parseParams({ control_rate_hz: 1000, frame_interval_s: 0.01 }).control_rate_hz, 1000);
  assert.match(problemsOf({ frame_interval_s: 61 })[0]!, /^frame_interval_s: expected a number of seconds in \[0\.01, 60\]/);
});
