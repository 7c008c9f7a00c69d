// @ts-check
/**
 * `npm run bench` (after `npm run build`): the hot path against its anchors (`hot-path.js`), the
 * refresh storm (`refresh-storm.js`: 1,000 concurrent calls over 4 processes, on PostgreSQL when
 * one answers), and the scale figure (`scale.js`: 10 and 100,000 connections), one after the
 * other. `--only hot-path|storm|scale` runs one; each script also runs alone with its own options.
 *
 * @module
 */
import process from 'node:process'
import { setTimeout } from 'node:timers'
import { main as hotPath } from './hot-path.js'
import { main as storm } from './refresh-storm.js'
import { main as scale } from './scale.js'

const PARTS = {
  'hot-path': () => hotPath([]),
  storm: () => storm(['--processes', '4', '--calls', '250', '--rounds', '3'], process.env),
  scale: () => scale([]),
}

const argv = process.argv.slice(2)
const only = argv[0] === '--only' ? argv[1] : undefined
if (argv.length && (only === undefined || !(only in PARTS))) {
  process.stderr.write(`Usage: npm run bench [-- --only ${Object.keys(PARTS).join('|')}]\n`)
  process.exitCode = 2
} else {
  for (const [name, run] of Object.entries(PARTS)) {
    if (only !== undefined && name !== only) continue
    process.stderr.write(`\n== ${name} ==\n`)
    const code = await run()
    if (code !== 0) {
      process.exitCode = code
      break
    }
  }
}
// Everything the bench started is closed by now; should a handle still linger, say so and leave.
setTimeout(() => {
  process.stderr.write('bench: a handle kept the process alive after the run; exiting\n')
  process.exit()
}, 3_000).unref()
