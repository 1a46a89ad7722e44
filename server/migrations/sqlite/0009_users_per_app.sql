-- Many merchants: a user belongs to the mini program they logged in on (WeChat's openids
-- are per app). NULL: [wechat]'s own app, as every user before this migration.
ALTER TABLE users ADD COLUMN appid TEXT;
