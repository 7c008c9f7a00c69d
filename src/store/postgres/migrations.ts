/**
 * PostgreSQL schema, one entry per version; `patchbay_migrations` records which versions a
 * database has. Same tables as the SQLite schema, with PostgreSQL types: BIGINT for epoch-ms
 * times (parsed back to `number` by the store's int8 parser), JSONB for JSON documents, BOOLEAN
 * for flags. No `locks` table: `withLock` uses advisory locks. Data steps are shared (`../sql/`).
 *
 * @module
 */
import type { Migration } from '../sql/db.js'
import { upgradeToV3 } from '../sql/upgrade-v3.js'

export const POSTGRES_MIGRATIONS: Migration[] = [
  {
    sql: `
  CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    link_name TEXT NOT NULL,
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    definition JSONB NOT NULL,
    secrets TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version INTEGER NOT NULL,
    CONSTRAINT connectors_link_name_key UNIQUE (link_name)
  );
  CREATE INDEX connectors_created ON connectors (created_at, id);
  CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    connector_id TEXT NOT NULL REFERENCES connectors (id),
    name TEXT NOT NULL,
    end_user TEXT,
    status TEXT NOT NULL,
    status_message TEXT,
    identity TEXT,
    public_values JSONB NOT NULL,
    secrets TEXT,
    credentials_version INTEGER NOT NULL,
    expires_at BIGINT,
    refresh_expires_at BIGINT,
    refresh_not_before BIGINT,
    refresh_failures INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX connections_created ON connections (created_at, id);
  CREATE INDEX connections_connector ON connections (connector_id, created_at);
  CREATE INDEX connections_end_user ON connections (end_user, created_at);
  CREATE INDEX connections_refresh_due ON connections (status, expires_at, refresh_expires_at);
  CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL,
    flow TEXT NOT NULL,
    return_url TEXT,
    session_id TEXT,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX oauth_states_connection ON oauth_states (connection_id);
  CREATE TABLE logs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    time BIGINT NOT NULL,
    connector_id TEXT,
    connection_id TEXT,
    action_id TEXT,
    kind TEXT NOT NULL,
    method TEXT,
    url TEXT,
    status INTEGER,
    duration_ms INTEGER,
    refreshed BOOLEAN NOT NULL,
    refresh_outcome TEXT,
    breaker_state TEXT,
    error TEXT,
    detail JSONB
  );
  CREATE INDEX logs_connection ON logs (connection_id, seq);
  CREATE INDEX logs_action ON logs (action_id, seq);
  CREATE INDEX logs_connector ON logs (connector_id, seq);
  CREATE TABLE breakers (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    failures INTEGER NOT NULL,
    opened_at BIGINT,
    retry_at BIGINT,
    trial_at BIGINT
  );
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  },
  // 2: named admin keys, stored as SHA-256 hashes.
  {
    sql: `
  CREATE TABLE admin_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    CONSTRAINT admin_keys_key_hash_key UNIQUE (key_hash)
  );
  CREATE INDEX admin_keys_created ON admin_keys (created_at, id);
  `,
  },
  // 3: connect sessions, end users and UI sessions in tables of their own (they were JSON rows in
  // meta), and an index from a saved action to its connector.
  {
    sql: `
  CREATE TABLE connect_sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    end_user TEXT NOT NULL,
    end_user_email TEXT,
    end_user_display_name TEXT,
    connectors JSONB,
    reconnect TEXT,
    return_url TEXT,
    allowed_origin TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT,
    end_reason TEXT,
    connection_ids JSONB NOT NULL,
    CONSTRAINT connect_sessions_token_hash_key UNIQUE (token_hash)
  );
  CREATE INDEX connect_sessions_live ON connect_sessions (ended_at, expires_at);
  CREATE INDEX connect_sessions_end_user ON connect_sessions (end_user);
  CREATE INDEX connect_sessions_created ON connect_sessions (created_at, id);
  CREATE TABLE end_users (
    id TEXT PRIMARY KEY,
    email TEXT,
    display_name TEXT,
    updated_at BIGINT NOT NULL
  );
  CREATE TABLE ui_sessions (
    id_hash TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);
  CREATE TABLE connector_actions (
    action_id TEXT PRIMARY KEY,
    connector_id TEXT NOT NULL REFERENCES connectors (id)
  );
  CREATE INDEX connector_actions_connector ON connector_actions (connector_id);
  CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
  `,
    data: upgradeToV3,
  },
  // 4: the connectors' own rate limits, one row per limit and fixed window.
  {
    sql: `
  CREATE TABLE rate_windows (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count INTEGER NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
  );
  CREATE INDEX rate_windows_expires ON rate_windows (expires_at);
  `,
  },
  // 5: scoped MCP keys (docs/mcp.md), stored as SHA-256 hashes; each log entry names the MCP key
  // and tool that made it.
  {
    sql: `
  CREATE TABLE mcp_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    end_user TEXT,
    connection_ids JSONB,
    connector_ids JSONB,
    action_ids JSONB,
    http_request BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    CONSTRAINT mcp_keys_key_hash_key UNIQUE (key_hash)
  );
  CREATE INDEX mcp_keys_created ON mcp_keys (created_at, id);
  ALTER TABLE logs ADD COLUMN mcp_key_id TEXT;
  ALTER TABLE logs ADD COLUMN tool TEXT;
  CREATE INDEX logs_mcp_key ON logs (mcp_key_id, seq);
  CREATE INDEX logs_tool ON logs (tool, seq);
  `,
  },
  // 6: the webhook outbox: connection events written with the change that caused them, delivered
  // by any process, in order per connection (docs/connect.md).
  {
    sql: `
  CREATE TABLE webhook_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    end_user TEXT,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_attempt_at BIGINT,
    last_status INTEGER,
    last_error TEXT,
    finished_at BIGINT,
    CONSTRAINT webhook_events_id_key UNIQUE (id)
  );
  CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
  CREATE INDEX webhook_events_pending ON webhook_events (connection_id, seq) WHERE status = 'pending';
  CREATE INDEX webhook_events_status ON webhook_events (status, seq);
  CREATE INDEX webhook_events_connection ON webhook_events (connection_id, seq);
  CREATE INDEX webhook_events_finished ON webhook_events (status, finished_at);
  `,
  },
  // 7: most log entries have no action, MCP key or tool; leaving those out of their indexes
  // saves three index writes per logged call. Queries on them name a value, which lets the planner
  // use the partial index.
  {
    sql: `
  DROP INDEX logs_action;
  DROP INDEX logs_mcp_key;
  DROP INDEX logs_tool;
  CREATE INDEX logs_action ON logs (action_id, seq) WHERE action_id IS NOT NULL;
  CREATE INDEX logs_mcp_key ON logs (mcp_key_id, seq) WHERE mcp_key_id IS NOT NULL;
  CREATE INDEX logs_tool ON logs (tool, seq) WHERE tool IS NOT NULL;
  `,
  },
]
