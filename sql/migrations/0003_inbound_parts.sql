-- Parts of concatenated MOs, stored before they are acknowledged (architecture.md rule 1).
-- A completed group is kept (completed_at set) for the redelivery window, so a part the
-- SMSC redelivers after completion is recognised and not assembled again.

CREATE TABLE inbound_part (
    source_addr   text NOT NULL,
    dest_addr     text NOT NULL,
    reference     integer NOT NULL,
    total         smallint NOT NULL,
    seq           smallint NOT NULL,
    source_ton    smallint,
    data_coding   smallint NOT NULL,
    payload       bytea NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    PRIMARY KEY (source_addr, dest_addr, reference, total, seq)
);

CREATE INDEX inbound_part_open_idx ON inbound_part (received_at) WHERE completed_at IS NULL;
