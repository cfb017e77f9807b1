-- Who is calling (0.7.0): pg_rag.user_id, pg_rag.tenant_id and pg_rag.user_admin are PGC_SUSET, so only
-- superusers and roles granted SET ON PARAMETER (the HTTP server's) may set them; anyone else is the
-- user of their role's name. Each block plays the attacker. (pg_rag is preloaded in this cluster; the
-- placeholders of a cluster that does not preload it are checked by tests/identity-without-preload.sh.)
CREATE ROLE alice;
CREATE ROLE rag_server;
CREATE ROLE carol;
SELECT rag_grant_user_access('alice');
SELECT rag_grant_user_access('rag_server', sets_identity => true);
SELECT name, setting, context, vartype FROM pg_settings
WHERE name IN ('pg_rag.user_id', 'pg_rag.tenant_id', 'pg_rag.user_admin') ORDER BY 1;

-- A superuser is the user of its role's name, an admin, in no tenant.
SELECT rag_current_user(), rag_current_tenant() IS NULL AS no_tenant, rag_is_admin();

-- A plain role is the user of its name...
SET ROLE alice;
SELECT rag_current_user(), rag_current_tenant() IS NULL AS no_tenant, rag_is_admin();
-- ...and cannot claim another identity, a tenant or the admin flag, however it tries.
SET pg_rag.user_id = 'bob';
BEGIN;
SET LOCAL pg_rag.user_id = 'bob';
ROLLBACK;
SELECT set_config('pg_rag.user_id', 'bob', true);
SELECT set_config('pg_rag.user_id', 'bob', false);
SET pg_rag.tenant_id = 'acme';
SET pg_rag.user_admin = on;
SELECT set_config('pg_rag.user_admin', 'on', true);
ALTER ROLE alice SET pg_rag.user_id = 'bob';
ALTER ROLE alice SET pg_rag.user_admin = on;
CREATE FUNCTION pg_temp.as_bob() RETURNS text LANGUAGE sql SET pg_rag.user_id = 'bob' AS 'SELECT rag_current_user()';
SELECT rag_current_user(), rag_current_tenant() IS NULL AS no_tenant, rag_is_admin();
-- Granting access is for superusers (and the grants for the tables' owner).
SELECT rag_grant_user_access('alice', sets_identity => true);
SELECT rag_revoke_user_access('alice');
RESET ROLE;

-- The server's role asserts identities, each for one transaction (PostgREST's pattern)...
SET ROLE rag_server;
SELECT rag_current_user(), rag_is_admin();
BEGIN;
SELECT set_config('pg_rag.user_id', 'alice', true) AS user_id, set_config('pg_rag.tenant_id', 'acme', true) AS tenant_id;
SELECT rag_current_user(), rag_current_tenant(), rag_is_admin();
COMMIT;
SELECT rag_current_user(), rag_current_tenant() IS NULL AS no_tenant;
BEGIN;
SELECT set_config('pg_rag.user_id', 'dave', true), set_config('pg_rag.user_admin', 'on', true);
SELECT rag_current_user(), rag_is_admin();
ROLLBACK;
SELECT rag_current_user(), rag_is_admin();
-- An empty user id means "none": the role's own name again.
BEGIN;
SELECT set_config('pg_rag.user_id', '', true);
SELECT rag_current_user();
COMMIT;
-- ...and gets nothing else: no provider keys, no internal tables.
SELECT count(*) FROM rag_provider_keys;
SELECT count(*) FROM rag_chunk_changes;
RESET ROLE;

-- A role without the grants reads nothing of the knowledge base.
SET ROLE carol;
SELECT rag_current_user();
SELECT count(*) FROM rag_documents;
SELECT count(*) FROM rag_search('anything', mode => 'keyword');
RESET ROLE;

-- Without the library preloaded, a value set before it loads is a placeholder: loading the library
-- (any pg_rag function, a policy's too) throws it away unless the role that set it may set it.
\! bash tests/identity-without-preload.sh

-- Taking access back.
SELECT rag_revoke_user_access('rag_server');
SET ROLE rag_server;
SELECT set_config('pg_rag.user_id', 'alice', true);
SELECT count(*) FROM rag_documents;
RESET ROLE;
SELECT rag_revoke_user_access('alice');
DROP ROLE alice;
DROP ROLE rag_server;
DROP ROLE carol;
