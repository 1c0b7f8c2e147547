-- Migration 006: revocable dashboard sessions.
--
-- session_token: a random per-user value that every signed session cookie of the user carries
-- (dashboards/auth.py); a cookie whose token differs from the user's current one is no session.
-- analytics.users replaces it with a fresh random value (secrets.token_urlsafe) when the user
-- logs out, has their password reset, their role or school changed, and on creation, so a
-- removed and re-created user never matches a cookie issued to the old account. Existing users
-- get a random token here: sessions signed in before the upgrade end (they carry none).
ALTER TABLE users ADD COLUMN session_token VARCHAR;
UPDATE users SET session_token = replace(gen_random_uuid()::VARCHAR, '-', '')
                                 || replace(gen_random_uuid()::VARCHAR, '-', '');
