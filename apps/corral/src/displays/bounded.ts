import type { Writable } from "node:stream";

/** How many bytes a display lets a stream hold before it drops the agent's output lines: slack for a reader that lags now and then, not a whole run. */
export const STREAM_HIGH_WATER = 1024 * 1024;

/** What a display writes through: droppable writes give way when the reader falls behind. */
export interface BoundedStream {
  /** Writes `text`; a `droppable` write is skipped (and counted, as `lines` lines) while the stream is backed up. */
  write(text: string, droppable?: boolean, lines?: number): void;
  /** Whether droppable writes are being skipped now. */
  readonly congested: boolean;
}

/**
 * A stream whose reader can be slower than the agent (a paused pager, a slow pipe) would make node
 * buffer everything the agent prints, in memory. Droppable writes (the agent's output) are skipped
 * while the stream holds more than `limit` bytes, and counted; the next write that goes out is
 * preceded by `notice(count)`. Other writes (corral's own lines) always go out. A TTY or a file is
 * written synchronously and never backs up.
 */
export function boundedStream(stream: NodeJS.WritableStream, notice: (dropped: number) => string, limit = STREAM_HIGH_WATER): BoundedStream {
  let dropped = 0;
  const backedUp = () => ((stream as Partial<Writable>).writableLength ?? 0) > limit;
  return {
    get congested() {
      return backedUp();
    },
    write(text, droppable = false, lines = 1) {
      if (droppable && backedUp()) {
        dropped += lines;
        return;
      }
      if (dropped) {
        const count = dropped;
        dropped = 0;
        stream.write(notice(count));
      }
      stream.write(text);
    },
  };
}
