/**
 * zod/mini carries no error messages until a locale is configured; this configures English, once.
 * Imported for its effect by every module that defines schemas. zod/mini instead of zod's classic
 * API: it tree-shakes, and took a function bundle from 888 KiB to a third of that (bench/results.md).
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());
