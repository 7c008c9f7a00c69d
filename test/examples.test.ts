import { readdirSync, readFileSync } from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPatchbay, type Patchbay } from '../src/index.js'

const dir = join(import.meta.dirname, '..', 'examples')
const files = readdirSync(dir).filter((f) => f.endsWith('.json'))

describe('examples/', () => {
  let pb: Patchbay
  beforeAll(async () => {
    pb = await createPatchbay({
      dataDir: mkdtempSync(join(tmpdir(), 'pb-ex-')),
      refreshIntervalMs: 0,
    })
  })
  afterAll(() => pb.close())

  it.each(files)('%s is a valid connector that can be marked ready', async (file) => {
    const c = await pb.connectors.create(JSON.parse(readFileSync(join(dir, file), 'utf8')))
    expect(c.missing).toEqual([])
    if (c.testRequired) {
      // Its token request must succeed first (`test-token`); the example's endpoint is not real.
      await expect(pb.connectors.ready(c.id)).rejects.toMatchObject({
        code: 'connector.incomplete',
        message: expect.stringMatching(/test request/),
      })
      return
    }
    expect((await pb.connectors.ready(c.id)).stage).toBe('ready')
  })
})
