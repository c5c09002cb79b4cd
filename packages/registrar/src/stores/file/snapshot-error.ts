import { LocationStoreError } from '../../errors.js';

const BRAND = Symbol.for('sipway.registrar.snapshot-error');

/** Why a snapshot could not be used: read failed, content invalid, or the directory cannot be written. */
export type SnapshotProblem = 'unreadable' | 'corrupt' | 'unwritable';

/**
 * The file store cannot start from (or write) its snapshot. Thrown by `open()`, so a bad file
 * stops start-up with this message instead of silently starting with no bindings.
 * A {@link LocationStoreError} (code `STORE_FAILED`) with the path and the kind of problem.
 */
export class LocationSnapshotError extends LocationStoreError {
  readonly path: string;
  readonly problem: SnapshotProblem;
  constructor(path: string, problem: SnapshotProblem, detail: string, cause?: unknown) {
    super(`location snapshot ${path} is ${problem}: ${detail}`, cause);
    this.name = 'LocationSnapshotError';
    this.path = path;
    this.problem = problem;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override isInstance(value: unknown): value is LocationSnapshotError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
