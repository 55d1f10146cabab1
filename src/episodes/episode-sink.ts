// The state machine's frames -> EpisodeWriter. Camera messages are decoded (into
// the episode's channel order) and written one after another in arrival order;
// a compressed frame's decode is async, so appends are chained.
//
// A bad frame (undecodable, or a size change) is reported through onError and
// skipped: the episode so far is intact and recording goes on. A write failure
// (disk full) kills the writer: later frames are skipped without more reports,
// and close() rejects with that error. The queue is bounded so a writer that
// cannot keep up (gzip at a high capture rate) drops frames instead of memory.
import type { ChannelOrder } from "../model/manifest.js";
import { EpisodeError, EpisodeWriter, type EpisodeWriterOptions } from "./episode-writer.js";
import type { CapturedFrame, EpisodeSink, EpisodeSinkFactory, EpisodeStartInfo } from "./episode-state.js";

export interface WriterSinkOptions {
  channelOrder?: ChannelOrder;
  gzip?: number | boolean;
  obstacleLayoutType?: string;
  /** Frames allowed to wait for the writer (default 16). */
  maxQueuedFrames?: number;
  onError?: (e: Error) => void;
  /** Told the final path of every stored episode. */
  onSaved?: (path: string) => void;
}

class WriterSink implements EpisodeSink {
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    readonly writer: EpisodeWriter,
    private readonly maxQueued: number,
    private readonly onError: (e: Error) => void,
    private readonly onSaved: (path: string) => void,
  ) {}

  append(frame: CapturedFrame): void {
    if (this.writer.error) return;
    if (this.queued >= this.maxQueued) {
      this.onError(new EpisodeError("frame", this.writer.partialPath, `writer is ${this.queued} frames behind; frame at t=${frame.t} dropped`));
      return;
    }
    this.queued++;
    this.chain = this.chain
      .then(async () => {
        if (this.writer.error) return;
        await this.writer.appendImage(frame.image, frame.action, frame.eventType);
      })
      .catch((e: unknown) => this.onError(e instanceof Error ? e : new Error(String(e))))
      .finally(() => {
        this.queued--;
      });
  }

  async close(endTime: Date): Promise<string> {
    await this.chain;
    const p = await this.writer.close({ endTime });
    this.onSaved(p);
    return p;
  }

  async discard(): Promise<void> {
    await this.chain;
    await this.writer.discard();
  }
}

/** Opens an EpisodeWriter in `dir` for every episode the state machine starts. */
export function writerSinkFactory(dir: string, opts: WriterSinkOptions = {}): EpisodeSinkFactory {
  const maxQueued = opts.maxQueuedFrames ?? 16;
  if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new RangeError(`maxQueuedFrames ${maxQueued} must be a positive integer`);
  const onError = opts.onError ?? (() => {});
  const onSaved = opts.onSaved ?? (() => {});
  return {
    open(start: EpisodeStartInfo): EpisodeSink {
      const wopts: EpisodeWriterOptions = {
        scenario: start.scenario,
        instruction: start.instruction,
        startTime: start.startTime,
        channelOrder: opts.channelOrder,
        gzip: opts.gzip,
        obstacleLayoutType: opts.obstacleLayoutType,
      };
      return new WriterSink(EpisodeWriter.open(dir, wopts), maxQueued, onError, onSaved);
    },
  };
}
