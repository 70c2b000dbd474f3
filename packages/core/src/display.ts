import type { RunEvent } from "./events.js";

/** Shows RunEvents (terminal, log file, NDJSON…). Displays observe; they never influence the run. */
export interface Display {
  readonly name: string;
  onEvent(event: RunEvent): void;
  /** Flush and release resources; called once when the run (or fleet) is over. */
  close?(): Promise<void> | void;
}
