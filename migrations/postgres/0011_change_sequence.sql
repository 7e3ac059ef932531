-- The change sequence without one hot row (PostgreSQL; SQLite has one
-- writer and keeps its counter row).
--
-- Writers take numbers from a sequence, which never blocks: instances on
-- one database write in parallel. Numbers no longer commit in order, so a
-- reader's upper bound (`lotocar_last_change`) is a visibility watermark:
--
--   1. `lotocar_next_change` takes, before its number, a lock of its own
--      for the rest of the transaction (an advisory lock keyed by the
--      backend; PostgreSQL lets transaction locks go only once the
--      transaction has ended and is visible to new snapshots);
--   2. the reader reads the sequence's last number L, then (a later
--      statement) the writers' locks held at that moment in this database;
--   3. it waits for each of those locks (a shared lock, taken and let go
--      at once: no polling), and returns L.
--
-- Every number up to L was taken by a transaction that held its lock
-- before L was read: when the locks are listed, it has ended and is
-- visible, or it still holds its lock and the reader waits for it. When
-- the function returns, every transaction that holds a number up to L has
-- ended, and the reader's next statement sees all that it committed:
-- nothing committed at or below the cursor can be missed. Rolled-back
-- numbers are gaps, which readers never rely on. A reader may wait for a
-- writer that took no number yet below L (the next transaction of the
-- same backend): a short wait, never a miss.
--
-- (Two watermarks that look right are wrong, and the test
-- tests/change_sequence.rs caught both: the commit log says "committed" a
-- moment before the transaction is visible; and a snapshot's list of
-- transactions in progress stops at the last one that ended, so a
-- transaction that took its id and its number just before is in no list.)

CREATE SEQUENCE change_seq AS BIGINT MINVALUE 0 START 0 CACHE 1;
SELECT setval('change_seq', (SELECT value FROM change_counter WHERE name = 'global'), true);
DROP TABLE change_counter;

-- 20061: the lock class of the change sequence's writers (any constant
-- no other advisory lock of this database uses).
CREATE FUNCTION lotocar_next_change() RETURNS BIGINT
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(20061, pg_backend_pid());
    RETURN nextval('change_seq');
END
$$;

CREATE FUNCTION lotocar_last_change() RETURNS BIGINT
LANGUAGE plpgsql VOLATILE SET lock_timeout = '15s' AS $$
DECLARE
    last BIGINT;
    writer INT;
BEGIN
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
      INTO last FROM change_seq;
    FOR writer IN
        SELECT l.objid::TEXT::INT FROM pg_locks AS l
         WHERE l.locktype = 'advisory' AND l.classid = 20061 AND l.objsubid = 2
           AND l.mode = 'ExclusiveLock' AND l.granted
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.pid <> pg_backend_pid()
    LOOP
        PERFORM pg_advisory_lock_shared(20061, writer);
        PERFORM pg_advisory_unlock_shared(20061, writer);
    END LOOP;
    RETURN last;
END
$$;
