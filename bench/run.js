// @ts-check
/**
 * `npm run bench` (after `npm run build`): runs bench/proxy.js over the compiled library and
 * exits with its code.
 *
 * @module
 */
import process from 'node:process'
import { setTimeout } from 'node:timers'
import { main } from './proxy.js'

process.exitCode = await main(process.argv.slice(2), process.env)
// Everything the bench started is closed by now; should a handle still linger, say so and leave.
setTimeout(() => {
  process.stderr.write('bench: a handle kept the process alive after the run; exiting\n')
  process.exit()
}, 3_000).unref()
