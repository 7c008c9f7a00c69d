import { describe, expect, it } from 'vitest'
import { allRoutes, contract, requestOf, type CallInput, type RouteSpec } from './contract.js'

describe('the HTTP contract', () => {
  it('has one route per method and path, each path parameter described', () => {
    const seen = new Set<string>()
    for (const route of allRoutes()) {
      const key = `${route.method} ${route.path}`
      expect(seen.has(key), key).toBe(false)
      seen.add(key)
      const names = [...route.path.matchAll(/:(\w+)|\/(\*)$/g)].map((m) => m[1] ?? m[2]!)
      expect(Object.keys(route.params ?? {}).sort(), key).toEqual(names.sort())
    }
    expect(seen.size).toBeGreaterThan(40)
  })

  it('builds a request: the path parameters encoded, the query without absent or empty values', () => {
    expect(requestOf(contract.endUsers.get, { params: { id: 'a|b c/d?' } })).toEqual({
      method: 'GET',
      path: '/api/v1/end-users/a%7Cb%20c%2Fd%3F',
      body: undefined,
    })
    expect(
      requestOf(contract.connections.list, {
        query: { limit: 5, connector: '', status: undefined, endUser: 'ann&bob' },
      }).path,
    ).toBe('/api/v1/connections?limit=5&endUser=ann%26bob')
    expect(
      requestOf(contract.connections.request, {
        params: { id: 'co_1' },
        body: { method: 'GET', path: 'x' },
      }),
    ).toEqual({
      method: 'POST',
      path: '/api/v1/connections/co_1/request',
      body: { method: 'GET', path: 'x' },
    })
  })

  it('refuses a request without its path parameter, and the proxy, which takes any request', () => {
    expect(() =>
      requestOf(contract.connectors.get, {} as CallInput<typeof contract.connectors.get>),
    ).toThrow('the parameter "id" is missing')
    expect(() =>
      requestOf(contract.proxy.forward as RouteSpec, {} as CallInput<RouteSpec>),
    ).toThrow('takes any request')
  })
})
