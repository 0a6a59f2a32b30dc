// The one error the loader throws: every problem found, each naming its key
// (or its environment variable, or the file), one per line of the message.

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One line per problem, e.g. "ingress.listeners[0].port: expected ...". */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.problems = Object.freeze([...problems]);
  }
}
