// Facts the bundler writes in (scripts/bundle.mjs, scripts/dist.mjs); undefined when ssmx runs
// from tsc's output, as the unit tests do.
declare const SSMX_BUNDLED_VERSION: string | undefined;
declare const SSMX_STANDALONE: boolean | undefined;

/** The version, when bundled; else it is read from package.json (src/cli/self.ts). */
export const bundledVersion: string | undefined = typeof SSMX_BUNDLED_VERSION === 'string' ? SSMX_BUNDLED_VERSION : undefined;

/**
 * True in the single-file executable (Node's single executable application): there the program is
 * the executable itself, with no script beside it, no package.json, and no native add-on.
 */
export const standalone: boolean = typeof SSMX_STANDALONE !== 'undefined' && SSMX_STANDALONE === true;
