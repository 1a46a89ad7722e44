-- The Mini Program's access_token, shared by every instance: one row per appid. An
-- instance refreshes it only while it holds the lease (lease_until in the future), so
-- an expiry causes one call to WeChat, not one per instance.
CREATE TABLE access_tokens (
    appid TEXT PRIMARY KEY,
    token TEXT,
    expires_at BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0,
    refreshed_at BIGINT
);
