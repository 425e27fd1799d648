"""FSM states, one group per flow."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ListsFlow(StatesGroup):
    naming = State()  # a new list's name
    renaming = State()
    adding = State()  # one address to add
    removing = State()  # one address to remove
    searching = State()  # a search query over members
    awaiting_source = State()  # a file or a link to import into data["list_id"]
    tagging = State()  # a tag, then members' addresses (lists_tags)


class MailingFlow(StatesGroup):
    """The create/edit dialog; data["mailing_id"] is the draft being edited."""

    name = State()
    channel = State()
    subject = State()
    content = State()
    options = State()
    tracking = State()  # tracking and UTM switches (email and Telegram)
    buttons = State()  # typing URL buttons, "Label - https://…" per line
    answers = State()  # typing answer buttons, "👍 | 👎"
    utm_content = State()  # typing utm_content (tracking step)
    lists = State()
    segment = State()  # the segment screen of the lists step
    segment_value = State()  # typing a condition's value
    segment_name = State()  # typing the name to save the segment under
    local_at = State()  # typing the local time each recipient gets it at
    local_zone = State()  # typing the default time zone
    local_quiet = State()  # typing quiet hours
    ab = State()  # the A/B test screen of the lists step
    ab_variant = State()  # typing a variant (data["ab_part"]: what it changes)
    ab_sample = State()  # typing the sample's share
    ab_wait = State()  # typing the waiting time
    schedule = State()
    schedule_at = State()  # typing a date and time
    schedule_cron = State()  # typing a cron expression
    schedule_end = State()  # typing when a recurring schedule ends
    preview = State()


class TestFlow(StatesGroup):
    email = State()  # where an email test should go; data["mailing_id"]


class FollowUpFlow(StatesGroup):
    text = State()  # the new text of a run's copies; data["fu_mailing"], data["fu_run"]


class HooksFlow(StatesGroup):
    url = State()  # a new event webhook's URL (and event names)
