// The one zod every schema module uses: zod/mini (tree-shakeable functional API) with the English
// error messages that classic `zod` loads by default and that the problem+json responses, rule
// file diagnostics and tests rely on. zod/mini loads no locale (every message would read
// "Invalid input"), so the locale is configured here, once, before any schema parses. Classic
// `zod` also installs the memoizer (cycle support: a parse reuses the node it is building when
// the input refers back to it, where mini would recurse until the stack overflows); it is
// installed here too so parsing behaves as before. Containers read it when they are built, so
// this module must run before any schema is constructed: importing `z` from it guarantees that.
//
// Import it as a namespace: `import * as z from '#functions/zod.ts'`, then `z.string()`,
// `z.infer<...>`, `z.core.$ZodError`. The shape matters for bundle size: with `export *` each of
// mini's functions stays a separate binding that esbuild drops when unused (~40 KB of zod in a
// handler). Re-exporting the namespace as a value instead (`import * as z from 'zod/mini';
// export { z }`, or `export * as z from 'zod/mini'`, imported as `{ z }`) makes the bundler
// build the whole namespace object, keeping every schema, check and all ~50 locales: measured
// at ~438 KB of zod per handler, barely less than classic zod.
//
// zod/mini schemas throw and return `z.core.$ZodError` (not classic `ZodError`): check
// `instanceof z.core.$ZodError` where an error's kind matters.

import { en } from 'zod/locales';
import { config, memoizer } from 'zod/mini';

config({ ...en(), memoizer: memoizer() });

export * from 'zod/mini';
