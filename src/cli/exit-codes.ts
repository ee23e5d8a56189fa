/** Exit statuses scripts can rely on; documented in the README. */
export const ExitCode = {
  Ok: 0,
  /** Anything not classified below. */
  Failure: 1,
  /** Bad command line: unknown option, bad argument. */
  Usage: 2,
  /** Missing, expired or rejected credentials; AccessDenied. */
  Credentials: 3,
  /** The target does not exist, is not connected, or the document is invalid. */
  Target: 4,
  /** The stream URL could not be reached, or the connection was lost. */
  Connection: 5,
  /** The peer broke the protocol, or the handshake failed. */
  Protocol: 6,
  /** `ssmx run`: the remote command was killed by a signal the agent does not name (as ssh's 255). */
  KilledRemotely: 255,
  /** `ssmx run`: the session ended without the exit status its document promises (as ssh's 255). */
  NoExitStatus: 255,
  /**
   * A shell ended with the escape (`~.`): cut off, not ended by the remote. OpenSSH's ssh exits
   * 255 then (ssh(1): "255 if an error occurred"; OpenSSH 9.2p1 measured), and so do scripts' checks.
   */
  EndedByEscape: 255,
} as const;

/** A process ended by a signal exits 128 + the signal number, as shells report it. */
export const signalExitCode = (signal: NodeJS.Signals): number =>
  128 + ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 } as Record<string, number>)[signal]!;
