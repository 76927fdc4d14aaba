-- Wake the sender whenever replies or reminders are queued, whoever queued them.
-- Statement-level, so a batch of rows costs one notification.

CREATE FUNCTION smsreg_notify_outbound_v1() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('smsreg_outbound', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbound_notify
    AFTER INSERT ON outbound_sms
    FOR EACH STATEMENT EXECUTE FUNCTION smsreg_notify_outbound_v1();
