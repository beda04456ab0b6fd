/**
 * A failure while starting, with the sentence an operator needs in place of a stack
 * trace. `cause` keeps the original error for --log-level debug.
 */
import { NessieError } from '../errors.js';

export class StartupError extends Error {
  private constructor(message: string, options: ErrorOptions) {
    super(message, options);
    this.name = 'StartupError';
  }

  /** `explained` when given; else the error's own message, with its stable code when it is ours. */
  static from(err: unknown, explained: string | undefined): StartupError {
    if (err instanceof StartupError) return err;
    const own = err instanceof NessieError ? `${err.message} (${err.code})` : (err as Error)?.message ?? String(err);
    return new StartupError(explained ?? own, { cause: err });
  }
}
