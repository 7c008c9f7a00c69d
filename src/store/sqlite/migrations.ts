/**
 * SQLite schema, one entry per version; `PRAGMA user_version` records how far a database is.
 * Twin of the PostgreSQL schema (`../postgres/migrations.ts`) with SQLite's types; data steps are
 * shared (`../sql/`).
 *
 * @module
 */
import type { Migration } from '../sql/db.js'
import { upgradeToV3 } from '../sql/upgrade-v3.js'

export const SQLITE_MIGRATIONS: Migration[] = [
  {
    sql: `
  CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    link_name TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    definition TEXT NOT NULL,
    secrets TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
  );
  CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    connector_id TEXT NOT NULL REFERENCES connectors(id),
    name TEXT NOT NULL,
    end_user TEXT,
    status TEXT NOT NULL,
    status_message TEXT,
    identity TEXT,
    public_values TEXT NOT NULL,
    secrets TEXT,
    credentials_version INTEGER NOT NULL,
    expires_at INTEGER,
    refresh_expires_at INTEGER,
    refresh_not_before INTEGER,
    refresh_failures INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX connections_connector ON connections(connector_id, created_at);
  CREATE INDEX connections_end_user ON connections(end_user, created_at);
  CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL,
    flow TEXT NOT NULL,
    return_url TEXT,
    session_id TEXT,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    time INTEGER NOT NULL,
    connector_id TEXT,
    connection_id TEXT,
    action_id TEXT,
    kind TEXT NOT NULL,
    method TEXT,
    url TEXT,
    status INTEGER,
    duration_ms INTEGER,
    refreshed INTEGER NOT NULL,
    refresh_outcome TEXT,
    breaker_state TEXT,
    error TEXT,
    detail TEXT
  );
  CREATE INDEX logs_connection ON logs(connection_id, seq);
  CREATE INDEX logs_action ON logs(action_id, seq);
  CREATE INDEX logs_connector ON logs(connector_id, seq);
  CREATE TABLE breakers (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    failures INTEGER NOT NULL,
    opened_at INTEGER,
    retry_at INTEGER,
    trial_at INTEGER
  );
  CREATE TABLE locks (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
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
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX admin_keys_created ON admin_keys(created_at, id);
  `,
  },
  // 3: connect sessions, end users and UI sessions in tables of their own (they were JSON rows in
  // meta), and an index from a saved action to its connector.
  {
    sql: `
  CREATE TABLE connect_sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    end_user TEXT NOT NULL,
    end_user_email TEXT,
    end_user_display_name TEXT,
    connectors TEXT,
    reconnect TEXT,
    return_url TEXT,
    allowed_origin TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER,
    end_reason TEXT,
    connection_ids TEXT NOT NULL
  );
  CREATE INDEX connect_sessions_live ON connect_sessions(ended_at, expires_at);
  CREATE INDEX connect_sessions_end_user ON connect_sessions(end_user);
  CREATE INDEX connect_sessions_created ON connect_sessions(created_at, id);
  CREATE TABLE end_users (
    id TEXT PRIMARY KEY,
    email TEXT,
    display_name TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE ui_sessions (
    id_hash TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX ui_sessions_expires ON ui_sessions(expires_at);
  CREATE TABLE connector_actions (
    action_id TEXT PRIMARY KEY,
    connector_id TEXT NOT NULL REFERENCES connectors(id)
  );
  CREATE INDEX connector_actions_connector ON connector_actions(connector_id);
  CREATE INDEX connections_created ON connections(created_at, id);
  CREATE INDEX oauth_states_expires ON oauth_states(expires_at);
  CREATE INDEX oauth_states_connection ON oauth_states(connection_id);
  `,
    data: upgradeToV3,
  },
  // 4: the connectors' own rate limits, one row per limit and fixed window.
  {
    sql: `
  CREATE TABLE rate_windows (
    key TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
  );
  CREATE INDEX rate_windows_expires ON rate_windows(expires_at);
  `,
  },
  // 5: scoped MCP keys (docs/mcp.md), stored as SHA-256 hashes; each log entry names the MCP key
  // and tool that made it.
  {
    sql: `
  CREATE TABLE mcp_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    end_user TEXT,
    connection_ids TEXT,
    connector_ids TEXT,
    action_ids TEXT,
    http_request INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX mcp_keys_created ON mcp_keys(created_at, id);
  ALTER TABLE logs ADD COLUMN mcp_key_id TEXT;
  ALTER TABLE logs ADD COLUMN tool TEXT;
  CREATE INDEX logs_mcp_key ON logs(mcp_key_id, seq);
  CREATE INDEX logs_tool ON logs(tool, seq);
  `,
  },
  // 6: the webhook outbox: connection events written with the change that caused them, delivered
  // by any process, in order per connection (docs/connect.md).
  {
    sql: `
  CREATE TABLE webhook_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    end_user TEXT,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_attempt_at INTEGER,
    last_status INTEGER,
    last_error TEXT,
    finished_at INTEGER
  );
  CREATE INDEX webhook_events_due ON webhook_events(status, next_attempt_at);
  CREATE INDEX webhook_events_pending ON webhook_events(connection_id, seq) WHERE status = 'pending';
  CREATE INDEX webhook_events_status ON webhook_events(status, seq);
  CREATE INDEX webhook_events_connection ON webhook_events(connection_id, seq);
  CREATE INDEX webhook_events_finished ON webhook_events(status, finished_at);
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
  CREATE INDEX logs_action ON logs(action_id, seq) WHERE action_id IS NOT NULL;
  CREATE INDEX logs_mcp_key ON logs(mcp_key_id, seq) WHERE mcp_key_id IS NOT NULL;
  CREATE INDEX logs_tool ON logs(tool, seq) WHERE tool IS NOT NULL;
  `,
  },
]
