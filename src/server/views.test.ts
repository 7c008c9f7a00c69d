import { describe, expectTypeOf, it } from 'vitest'
import type { z } from 'zod'
import type { AdminKeyView, CreatedAdminKey } from '../engine/admin.js'
import type {
  ConnectPageConnection,
  ConnectPageConnector,
  ConnectPageResult,
  ConnectPageSession,
} from '../engine/connect-page.js'
import type { ConnectSessionView, CreatedConnectSession } from '../engine/connect-sessions.js'
import type { ConnectionView } from '../engine/connections.js'
import type { CreatedConnection } from '../engine/connection-flows.js'
import type { BreakerView } from '../engine/breakers.js'
import type { ConnectorView } from '../engine/connector-views.js'
import type { EndUserView } from '../engine/end-users.js'
import type { LogView } from '../engine/patchbay.js'
import type { RequestOutcome } from '../engine/envelope.js'
import type { ActionOutcome, ActionView, TestOutcome } from './contract.js'
import type * as views from './views.js'

type Out<S extends z.ZodType> = z.output<S>

describe('view schemas', () => {
  it('describe exactly the engine types they stand for', () => {
    expectTypeOf<Out<typeof views.breakerViewSchema>>().branded.toEqualTypeOf<BreakerView>()
    expectTypeOf<Out<typeof views.connectionViewSchema>>().branded.toEqualTypeOf<ConnectionView>()
    expectTypeOf<
      Out<typeof views.createdConnectionSchema>
    >().branded.toEqualTypeOf<CreatedConnection>()
    expectTypeOf<Out<typeof views.connectorViewSchema>>().branded.toEqualTypeOf<ConnectorView>()
    expectTypeOf<Out<typeof views.actionViewSchema>>().branded.toEqualTypeOf<ActionView>()
    expectTypeOf<Out<typeof views.requestOutcomeSchema>>().branded.toEqualTypeOf<RequestOutcome>()
    expectTypeOf<Out<typeof views.actionOutcomeSchema>>().branded.toEqualTypeOf<ActionOutcome>()
    expectTypeOf<Out<typeof views.testOutcomeSchema>>().branded.toEqualTypeOf<TestOutcome>()
    expectTypeOf<Out<typeof views.logViewSchema>>().branded.toEqualTypeOf<LogView>()
    expectTypeOf<Out<typeof views.adminKeyViewSchema>>().branded.toEqualTypeOf<AdminKeyView>()
    expectTypeOf<Out<typeof views.createdAdminKeySchema>>().branded.toEqualTypeOf<CreatedAdminKey>()
    expectTypeOf<
      Out<typeof views.connectSessionViewSchema>
    >().branded.toEqualTypeOf<ConnectSessionView>()
    expectTypeOf<
      Out<typeof views.createdConnectSessionSchema>
    >().branded.toEqualTypeOf<CreatedConnectSession>()
    expectTypeOf<Out<typeof views.endUserViewSchema>>().branded.toEqualTypeOf<EndUserView>()
    expectTypeOf<
      Out<typeof views.connectPageConnectorSchema>
    >().branded.toEqualTypeOf<ConnectPageConnector>()
    expectTypeOf<
      Out<typeof views.connectPageConnectionSchema>
    >().branded.toEqualTypeOf<ConnectPageConnection>()
    expectTypeOf<
      Out<typeof views.connectPageResultSchema>
    >().branded.toEqualTypeOf<ConnectPageResult>()
    expectTypeOf<
      Out<typeof views.connectPageSessionSchema>
    >().branded.toEqualTypeOf<ConnectPageSession>()
  })
})
