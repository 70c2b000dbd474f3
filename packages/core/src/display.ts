import type { RunEvent } from "./events.js";

/** Shows RunEvents (terminal, log file, NDJSON…). Displays observe; they never influence the run. */
export interface Display {
  /** Names it in messages. */
  readonly name: string;
  /** Called with every event in order. It MUST NOT throw or block: a display never stops or slows the run. */
  onEvent(event: RunEvent): void;
  /** Flush and release resources; called once when the run (or fleet) is over. */
  close?(): Promise<void> | void;
}
