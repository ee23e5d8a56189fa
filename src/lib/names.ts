/** Names the library and the command line share, in a module light enough for the command line's first load. */

/** The session document `ssmx run` and the library's `run` use, created by `ssmx setup`. */
export const RUN_DOCUMENT = 'SSMX-RunCommand';

/**
 * Sessions per spec when --sessions is not given. Each paced session carries about 1 MB/s towards
 * the user, and throughput grew with the pool in every measurement (BENCHMARKS.md: 8 connections,
 * 1/2/4/8 sessions). The pool opens eagerly, and every session is an audited AWS session with an
 * agent worker on the instance even when one connection uses it, so the default stops at 4.
 */
export const DEFAULT_SESSIONS = 4;
