// Raw-mode keyboard input that always gives the terminal back.
//
// A teleop puts the terminal in raw mode (one key at a time, no echo, Ctrl-C as a
// byte). If the process then ends without undoing it (a crash, a kill, an
// exception) the user's shell is left unusable. So entering raw mode also installs
// handlers that restore it on: normal exit, SIGINT / SIGTERM / SIGHUP, and any
// uncaught exception or unhandled rejection ('uncaughtExceptionMonitor' runs before
// Node's default crash handling without replacing it, so the crash still prints
// and exits as usual). restore() is idempotent and removes every handler.
//
// Ctrl-C (byte 0x03 in raw mode): the key is first handed to onKey, so the app can
// publish a last stop; then the terminal is restored and, unless onInterrupt is
// given, SIGINT is raised on the process so the usual shutdown path runs.
//
// Escape sequences (arrow keys, F-keys) arrive as several bytes; they are delivered
// as one multi-character key so that e.g. the "A" of ESC [ A is never read as the
// move key "a".
import { CTRL_C } from "./keymap.js";

type Listener = (...args: unknown[]) => void;

/** The parts of process.stdin used here (a fake TTY in tests). */
export interface RawInput {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding?(encoding: BufferEncoding): unknown;
  on(event: "data", listener: (chunk: string | Uint8Array) => void): unknown;
  off(event: "data", listener: (chunk: string | Uint8Array) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** The parts of `process` used here. */
export interface ProcessLike {
  readonly pid: number;
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
  listenerCount(event: string): number;
  kill(pid: number, signal?: string | number): unknown;
}

export interface RawTerminalOptions {
  onKey: (key: string) => void;
  input?: RawInput;
  proc?: ProcessLike;
  /** Called after Ctrl-C restored the terminal; default raises SIGINT on the process. */
  onInterrupt?: () => void;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Splits raw input into keys: single characters, or whole escape sequences. */
export function splitKeys(text: string): string[] {
  const keys: string[] = [];
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === "\u001b" && i + 1 < chars.length && (chars[i + 1] === "[" || chars[i + 1] === "O")) {
      let j = i + 2;
      // CSI parameters, then one final byte in @..~
      while (j < chars.length && !/[@-~]/.test(chars[j])) j++;
      if (chars[i + 1] === "[" && j < chars.length) {
        keys.push(chars.slice(i, j + 1).join(""));
        i = j;
        continue;
      }
      if (chars[i + 1] === "O" && i + 2 < chars.length) {
        keys.push(chars.slice(i, i + 3).join(""));
        i += 2;
        continue;
      }
    }
    keys.push(c);
  }
  return keys;
}

export class RawTerminal {
  private readonly input: RawInput;
  private readonly proc: ProcessLike;
  private readonly wasRaw: boolean;
  private readonly madeRaw: boolean;
  private readonly handlers: [string, Listener][] = [];
  private readonly onData: (chunk: string | Uint8Array) => void;
  private restored = false;

  private constructor(private readonly opts: RawTerminalOptions) {
    this.input = opts.input ?? (process.stdin as unknown as RawInput);
    this.proc = opts.proc ?? (process as unknown as ProcessLike);
    this.wasRaw = this.input.isRaw === true;
    this.madeRaw = this.input.isTTY === true && typeof this.input.setRawMode === "function";
    const decoder = new TextDecoder();
    this.onData = (chunk) => {
      const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      for (const key of splitKeys(text)) {
        if (this.restored) return;
        if (key === CTRL_C) {
          this.interrupt();
          return;
        }
        this.opts.onKey(key);
      }
    };
  }

  /** Puts the input in raw mode (when it is a TTY) and starts delivering keys. */
  static enter(opts: RawTerminalOptions): RawTerminal {
    const t = new RawTerminal(opts);
    t.install();
    return t;
  }

  get active(): boolean {
    return !this.restored;
  }

  private install(): void {
    // Handlers first: if setRawMode itself throws half-way, restore still runs.
    const restoreOnly: Listener = () => this.restore();
    this.handlers.push(["exit", restoreOnly], ["uncaughtExceptionMonitor", restoreOnly]);
    for (const sig of SIGNALS) {
      this.handlers.push([
        sig,
        () => {
          this.restore();
          // Our handler kept the default action (terminate) from running; with no
          // other listener left, raise the signal again so it does.
          if (this.proc.listenerCount(sig) === 0) this.proc.kill(this.proc.pid, sig);
        },
      ]);
    }
    for (const [event, fn] of this.handlers) this.proc.on(event, fn);
    try {
      if (this.madeRaw) this.input.setRawMode!(true);
      this.input.setEncoding?.("utf8");
      this.input.on("data", this.onData);
      this.input.resume();
    } catch (e) {
      this.restore();
      throw e;
    }
  }

  private interrupt(): void {
    try {
      this.opts.onKey(CTRL_C);
    } finally {
      this.restore();
      if (this.opts.onInterrupt) this.opts.onInterrupt();
      else this.proc.kill(this.proc.pid, "SIGINT");
    }
  }

  /** Gives the terminal back as it was and removes every handler. Safe to call repeatedly. */
  restore(): void {
    if (this.restored) return;
    this.restored = true;
    for (const [event, fn] of this.handlers) this.proc.off(event, fn);
    this.handlers.length = 0;
    this.input.off("data", this.onData);
    try {
      if (this.madeRaw) this.input.setRawMode!(this.wasRaw);
    } finally {
      // A paused stdin no longer keeps the event loop alive.
      this.input.pause();
    }
  }
}
