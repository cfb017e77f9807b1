-- The released 0.1.0 script plus every upgrade gives the same extension as a fresh install of the
-- current full script: the same members, and the same definitions of each.
SET client_min_messages = warning;
DROP EXTENSION pg_rag CASCADE;
RESET client_min_messages;
CREATE EXTENSION pg_rag VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
SELECT '[1,2,3]'::embedding <-> '[1,2,4]';
ALTER EXTENSION pg_rag UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
SELECT dims(rag_embed('after the upgrade'));
-- Every member with its definition: functions by pg_get_functiondef, tables by their columns, indexes,
-- constraints, triggers and policies, everything else by name.
CREATE FUNCTION pg_temp.extension_members() RETURNS TABLE (member text, definition text) LANGUAGE sql AS $$
  SELECT pg_describe_object(d.classid, d.objid, d.objsubid),
         CASE d.classid
           WHEN 'pg_proc'::regclass THEN
             (SELECT CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE p.prokind::text END
              FROM pg_proc p WHERE p.oid = d.objid)
           WHEN 'pg_class'::regclass THEN
             (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
                                || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''), ', ' ORDER BY a.attnum)
              FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
              WHERE a.attrelid = d.objid AND a.attnum > 0 AND NOT a.attisdropped)
             || coalesce((SELECT ' | ' || string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY 1)
                          FROM pg_index i WHERE i.indrelid = d.objid), '')
             || coalesce((SELECT ' | ' || string_agg(pg_get_constraintdef(c.oid), '; ' ORDER BY 1)
                          FROM pg_constraint c WHERE c.conrelid = d.objid), '')
             || coalesce((SELECT ' | ' || string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY 1)
                          FROM pg_trigger t WHERE t.tgrelid = d.objid AND NOT t.tgisinternal), '')
             || coalesce((SELECT ' | ' || string_agg(p.polname || ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), ''), '; ' ORDER BY 1)
                          FROM pg_policy p WHERE p.polrelid = d.objid), '')
             || ' | acl ' || coalesce((SELECT c.relacl::text FROM pg_class c WHERE c.oid = d.objid), '')
         END
  FROM pg_depend d
  WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_rag')
$$;
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.extension_members();
CREATE TEMP TABLE upgraded_acl AS
  SELECT p.oid::regprocedure::text AS fn, p.proacl::text AS acl FROM pg_proc p
  WHERE p.pronamespace = 'public'::regnamespace;
DROP EXTENSION pg_rag;
CREATE EXTENSION pg_rag;
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.extension_members();
SELECT (SELECT count(*) FROM fresh) AS members,
       (SELECT count(*) FROM (SELECT member FROM fresh EXCEPT SELECT member FROM upgraded) a) AS only_in_fresh,
       (SELECT count(*) FROM (SELECT member FROM upgraded EXCEPT SELECT member FROM fresh) b) AS only_in_upgraded;
-- Members whose definitions differ (none).
SELECT f.member FROM fresh f JOIN upgraded u USING (member)
WHERE f.definition IS DISTINCT FROM u.definition ORDER BY 1;
-- Function privileges are the same (none differ).
SELECT u.fn, u.acl AS upgraded, p.proacl::text AS fresh FROM upgraded_acl u
JOIN pg_proc p ON p.oid::regprocedure::text = u.fn AND p.pronamespace = 'public'::regnamespace
WHERE u.acl IS DISTINCT FROM p.proacl::text ORDER BY 1;
