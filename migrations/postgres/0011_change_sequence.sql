-- The change sequence without one hot row (PostgreSQL; SQLite has one
-- writer and keeps its counter row).
--
-- Writers take numbers from a sequence, which never blocks: instances on
-- one database write in parallel. Numbers no longer commit in order, so a
-- reader's upper bound (`lotocar_last_change`) is a visibility watermark:
--
--   1. `lotocar_next_change` makes sure the writing transaction has its
--      transaction id before it takes a number; PostgreSQL takes a lock
--      on a transaction's id when it assigns it, and lets it go only once
--      the transaction has ended and is visible to new snapshots;
--   2. the reader reads the sequence's last number L, then (a later
--      statement) the transaction-id locks held at that moment;
--   3. it waits until each of those locks is gone, and returns L.
--
-- Every number up to L was taken by a transaction whose id (and lock) was
-- assigned before L was read: when the locks are read, it has ended and
-- is visible, or it still holds its lock and the reader waits for it.
-- When the function returns, every transaction that holds a number up to
-- L has ended, and the reader's next statement sees all that they
-- committed: nothing committed at or below the cursor can be missed.
-- Rolled-back numbers are gaps, which readers never rely on.
--
-- (The snapshot's list of transactions in progress is not enough: its
-- upper bound is the last transaction that ended, so a transaction that
-- took its id and its number just before is in no list.)

CREATE SEQUENCE change_seq AS BIGINT MINVALUE 0 START 0 CACHE 1;
SELECT setval('change_seq', (SELECT value FROM change_counter WHERE name = 'global'), true);
DROP TABLE change_counter;

CREATE FUNCTION lotocar_next_change() RETURNS BIGINT
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN nextval('change_seq');
END
$$;

CREATE FUNCTION lotocar_last_change() RETURNS BIGINT
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last BIGINT;
    pending xid[];
    mine xid := pg_current_xact_id_if_assigned()::xid;
    waited INT := 0;
BEGIN
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
      INTO last FROM change_seq;
    -- Only this database's transactions (another application's long
    -- transaction on the same server must not hold our readers).
    pending := ARRAY(SELECT l.transactionid FROM pg_locks AS l
                     JOIN pg_stat_activity AS a ON a.pid = l.pid
                     WHERE l.locktype = 'transactionid' AND l.granted
                       AND a.datname = current_database()
                       AND NOT (mine IS NOT NULL AND l.transactionid = mine));
    LOOP
        EXIT WHEN cardinality(pending) = 0;
        waited := waited + 1;
        IF waited > 30000 THEN
            RAISE EXCEPTION 'change sequence: transactions % still in progress', pending;
        END IF;
        PERFORM pg_sleep(0.0005);
        pending := ARRAY(SELECT l.transactionid FROM pg_locks AS l
                         WHERE l.locktype = 'transactionid' AND l.granted
                           AND l.transactionid = ANY (pending));
    END LOOP;
    RETURN last;
END
$$;
