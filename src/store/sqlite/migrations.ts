/**
 * SQLite schema, one entry per version; `PRAGMA user_version` records how far a database is.
 *
 * @module
 */
export const SQLITE_MIGRATIONS: string[] = [
  `
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
  // 2: named admin keys, stored as SHA-256 hashes (SPEC §6).
  `
  CREATE TABLE admin_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX admin_keys_created ON admin_keys(created_at, id);
  `,
]
