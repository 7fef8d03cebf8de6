/** How the scheduler steers a running job: asks it to stop at the next checkpoint, and hears its progress. */
export interface RunControl {
  /** True once the engine is shutting down: the job returns at its next chunk boundary and resumes at start. */
  stopping(): boolean
  progress(processed: number, total: number): void
}
