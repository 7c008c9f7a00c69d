// @ts-check
/**
 * What the benchmark's processes share: the upstream's answer and the ad-hoc request body.
 *
 * @module
 */

/** About 200 bytes of JSON, the size of a typical small API answer. */
export const SMALL_BODY = JSON.stringify({
  id: 'ord_01HZX3K9Q7B2M4N6P8R0S2T4V6',
  object: 'order',
  status: 'paid',
  amount: 4200,
  currency: 'eur',
  customer: { id: 'cus_9f8e7d6c5b4a', email: 'ada@example.com' },
  created: 1_700_000_000,
  tags: ['bench', 'loopback'],
})

/** `POST …/request`'s body in every leg that answers the envelope. */
export const REQUEST_BODY = JSON.stringify({ method: 'GET', path: 'small' })
