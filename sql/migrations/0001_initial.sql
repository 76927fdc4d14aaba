-- Accounts, inbound messages and the outbound reply queue (outbox).
-- Constraint names are a contract: smsreg/register.py maps them to outcomes.

CREATE TABLE account (
    id                   bigserial PRIMARY KEY,
    -- The user name is the canonical identity number (domain.md §11.6): digits, leading zeros kept.
    id_number            text NOT NULL CONSTRAINT account_id_number_format CHECK (id_number ~ '^[0-9]{9}$|^[0-9]{12}$'),
    -- Canonical MSISDN: '84' + 9-digit national significant number.
    phone                text NOT NULL CONSTRAINT account_phone_format CHECK (phone ~ '^84[0-9]{9}$'),
    full_name            text NOT NULL,          -- folded, UPPERCASE
    name_as_typed        text NOT NULL,          -- cleaned, NFC, diacritics kept (for in-person checks)
    birth_date           date NOT NULL,
    -- argon2id PHC string; NULL once the password is disabled after max_rotations.
    password_hash        text,
    -- issued: first password from registration; rotated: re-issued by `smsreg expire`;
    -- changed: set by the citizen (portal / `smsreg passwd`), never expires; disabled: see README.
    password_state       text NOT NULL DEFAULT 'issued'
                         CONSTRAINT account_password_state CHECK (password_state IN ('issued', 'rotated', 'changed', 'disabled')),
    password_issued_at   timestamptz NOT NULL DEFAULT now(),
    password_changed_at  timestamptz,
    rotations            integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT account_id_number_key UNIQUE (id_number),
    CONSTRAINT account_phone_key UNIQUE (phone),
    CONSTRAINT account_hash_present CHECK ((password_hash IS NULL) = (password_state = 'disabled'))
);

-- Due-for-rotation scan of `smsreg expire`.
CREATE INDEX account_expiry_idx ON account (password_issued_at)
    WHERE password_state IN ('issued', 'rotated');

CREATE TABLE inbound_sms (
    id               bigserial PRIMARY KEY,
    received_at      timestamptz NOT NULL DEFAULT now(),
    source_addr      text NOT NULL,       -- as the SMSC sent it
    source_ton       smallint,
    phone            text,                -- canonical MSISDN; NULL for an invalid sender
    dest_addr        text NOT NULL,
    data_coding      smallint NOT NULL,
    payload          bytea NOT NULL,      -- raw user data (UDH removed, parts joined)
    text             text,                -- decoded; NULL when the coding carries no text
    -- sha256(source, destination, data_coding, payload): recognises an SMSC redelivery.
    redelivery_key   bytea NOT NULL,
    outcome          text NOT NULL
                     CONSTRAINT inbound_outcome CHECK (outcome IN ('ok', 'syntax_error', 'duplicate_id', 'duplicate_phone', 'invalid_sender')),
    reason           text,                -- parse failure reason code, for statistics
    account_id       bigint REFERENCES account (id)
);

CREATE INDEX inbound_redelivery_idx ON inbound_sms (redelivery_key, received_at);

CREATE TABLE outbound_sms (
    id                bigserial PRIMARY KEY,
    created_at        timestamptz NOT NULL DEFAULT now(),
    kind              text NOT NULL
                      CONSTRAINT outbound_kind CHECK (kind IN ('ok', 'syntax_error', 'duplicate_id', 'duplicate_phone', 'reminder')),
    inbound_id        bigint REFERENCES inbound_sms (id),
    account_id        bigint REFERENCES account (id),
    destination       text NOT NULL,      -- canonical MSISDN
    body              text NOT NULL,      -- the reply as it will be encoded
    -- The plaintext password inside body, until the SMSC accepted the submit_sm; then
    -- body is masked and this is set to NULL (architecture.md rule 4).
    secret            text,
    state             text NOT NULL DEFAULT 'queued'
                      CONSTRAINT outbound_state CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'undeliverable', 'failed')),
    attempts          integer NOT NULL DEFAULT 0,
    not_before        timestamptz NOT NULL DEFAULT now(),
    claimed_at        timestamptz,
    claimed_by        text,
    segments          smallint,
    smsc_message_ids  text[] NOT NULL DEFAULT '{}',
    sent_at           timestamptz,
    final_at          timestamptz,
    error             text,
    CONSTRAINT outbound_secret_only_unsent CHECK (secret IS NULL OR state IN ('queued', 'sending', 'failed'))
);

-- Exactly one reply per stored MO (architecture.md rule 3).
CREATE UNIQUE INDEX outbound_one_reply_per_inbound ON outbound_sms (inbound_id) WHERE inbound_id IS NOT NULL;
-- The sender's claim scan.
CREATE INDEX outbound_claim_idx ON outbound_sms (not_before, id) WHERE state IN ('queued', 'sending');
-- Delivery receipts are matched by SMSC message id.
CREATE INDEX outbound_message_ids_idx ON outbound_sms USING gin (smsc_message_ids);
