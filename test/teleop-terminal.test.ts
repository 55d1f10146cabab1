import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { RawTerminal, splitKeys, type ProcessLike, type RawInput } from "../src/teleop/raw-terminal.js";
import { CTRL_C } from "../src/teleop/keymap.js";

class FakeTTY extends EventEmitter implements RawInput {
  isTTY = true;
  isRaw: boolean;
  rawCalls: boolean[] = [];
  paused = false;
  resumed = false;
  constructor(raw = false) {
    super();
    this.isRaw = raw;
  }
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    this.rawCalls.push(mode);
    return this;
  }
  setEncoding(): this {
    return this;
  }
  resume(): this {
    this.resumed = true;
    this.paused = false;
    return this;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  type(text: string): void {
    this.emit("data", text);
  }
}

class FakeProcess extends EventEmitter implements ProcessLike {
  readonly pid = 4242;
  kills: [number, string | number | undefined][] = [];
  kill(pid: number, signal?: string | number): boolean {
    this.kills.push([pid, signal]);
    return true;
  }
}

const EVENTS = ["exit", "uncaughtExceptionMonitor", "SIGINT", "SIGTERM", "SIGHUP"];

function setup(opts: { raw?: boolean; onInterrupt?: () => void; onKey?: (k: string) => void } = {}) {
  const tty = new FakeTTY(opts.raw ?? false);
  const proc = new FakeProcess();
  const keys: string[] = [];
  const term = RawTerminal.enter({ input: tty, proc, onKey: opts.onKey ?? ((k) => keys.push(k)), onInterrupt: opts.onInterrupt });
  return { tty, proc, keys, term };
}

function assertRestored(tty: FakeTTY, proc: FakeProcess, term: RawTerminal, rawBefore = false): void {
  assert.equal(tty.isRaw, rawBefore, "raw mode is back to what it was");
  assert.equal(term.active, false);
  assert.equal(tty.listenerCount("data"), 0);
  assert.equal(tty.paused, true, "stdin paused so the process can exit");
  for (const e of EVENTS) assert.equal(proc.listenerCount(e), 0, `handler for ${e} removed`);
}

test("raw mode on while active, keys delivered one by one, restore gives everything back (idempotent)", () => {
  const { tty, proc, keys, term } = setup();
  assert.equal(tty.isRaw, true);
  assert.equal(tty.resumed, true);
  for (const e of EVENTS) assert.equal(proc.listenerCount(e), 1, `handler for ${e} installed`);
  tty.type("wa");
  tty.type("\u001b[A"); // arrow up: one key, never "a"
  tty.type("q\u001bOPd");
  assert.deepEqual(keys, ["w", "a", "\u001b[A", "q", "\u001bOP", "d"]);
  term.restore();
  assertRestored(tty, proc, term);
  term.restore();
  assert.deepEqual(tty.rawCalls, [true, false], "restore runs once");
  tty.type("w");
  assert.equal(keys.length, 6, "no keys after restore");
});

test("restored on normal exit", () => {
  const { tty, proc, term } = setup();
  proc.emit("exit", 0);
  assertRestored(tty, proc, term);
});

test("restored on an uncaught exception or unhandled rejection (before Node's crash handling)", () => {
  const { tty, proc, term } = setup();
  proc.emit("uncaughtExceptionMonitor", new Error("boom"), "uncaughtException");
  assertRestored(tty, proc, term);
  assert.deepEqual(proc.kills, [], "the crash itself is left to Node");
});

test("restored on SIGTERM / SIGHUP, and the signal is raised again when nobody else handles it", () => {
  const a = setup();
  a.proc.emit("SIGTERM", "SIGTERM");
  assertRestored(a.tty, a.proc, a.term);
  assert.deepEqual(a.proc.kills, [[4242, "SIGTERM"]]);

  const b = setup();
  const other = (): void => {};
  b.proc.on("SIGHUP", other);
  b.proc.emit("SIGHUP", "SIGHUP");
  assert.equal(b.tty.isRaw, false);
  assert.deepEqual(b.proc.kills, [], "another handler owns SIGHUP: not raised again");
  assert.equal(b.proc.listenerCount("SIGHUP"), 1);
});

test("Ctrl-C: the app sees the key while still raw (to stop the robot), then the terminal is restored and SIGINT raised", () => {
  let rawWhenSeen: boolean | null = null;
  const s = setup({
    onKey: (k) => {
      if (k === CTRL_C) rawWhenSeen = s.tty.isRaw;
    },
  });
  s.tty.type("w" + CTRL_C + "a");
  assert.equal(rawWhenSeen, true);
  assertRestored(s.tty, s.proc, s.term);
  assert.deepEqual(s.proc.kills, [[4242, "SIGINT"]]);

  let interrupted = 0;
  const t = setup({ onInterrupt: () => interrupted++ });
  t.tty.type(CTRL_C);
  assertRestored(t.tty, t.proc, t.term);
  assert.equal(interrupted, 1);
  assert.deepEqual(t.proc.kills, []);
});

test("Ctrl-C restores the terminal even when the app's key handler throws", () => {
  const s = setup({
    onKey: (k) => {
      if (k === CTRL_C) throw new Error("publisher gone");
    },
  });
  assert.throws(() => s.tty.type(CTRL_C), /publisher gone/);
  assertRestored(s.tty, s.proc, s.term);
  assert.deepEqual(s.proc.kills, [[4242, "SIGINT"]]);
});

test("a terminal that was already raw stays raw; a non-TTY input is read without touching raw mode", () => {
  const s = setup({ raw: true });
  s.term.restore();
  assertRestored(s.tty, s.proc, s.term, true);

  const pipe = new FakeTTY();
  pipe.isTTY = false;
  const keys: string[] = [];
  const term = RawTerminal.enter({ input: pipe, proc: new FakeProcess(), onKey: (k) => keys.push(k) });
  pipe.type("n");
  term.restore();
  assert.deepEqual(pipe.rawCalls, []);
  assert.deepEqual(keys, ["n"]);
});

test("if raw mode cannot be entered, nothing is left installed", () => {
  const tty = new FakeTTY();
  tty.setRawMode = () => {
    throw new Error("EIO");
  };
  const proc = new FakeProcess();
  assert.throws(() => RawTerminal.enter({ input: tty, proc, onKey: () => {} }), /EIO/);
  for (const e of EVENTS) assert.equal(proc.listenerCount(e), 0);
  assert.equal(tty.listenerCount("data"), 0);
});

test("splitKeys keeps escape sequences whole and unicode characters intact", () => {
  assert.deepEqual(splitKeys("ab"), ["a", "b"]);
  assert.deepEqual(splitKeys("\u001b[1;5C x"), ["\u001b[1;5C", " ", "x"]);
  assert.deepEqual(splitKeys("\u001b"), ["\u001b"]);
  assert.deepEqual(splitKeys("é😀"), ["é", "😀"]);
});
