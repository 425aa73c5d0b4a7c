"""Two-way activity sync with Google Calendar (DESIGN.md section 3, "Activities").

Read in this order: :mod:`.mapping` (an activity as the canonical fields of an event, and the
CRM's users as calendars know them), :mod:`.planning` (who drives and who attends, reading both
sides and the status, and :func:`plan_activities`, which decides every action) and
:mod:`.actions` (what each action does, on both sides). The runner in :mod:`crmtui.sync.runner`
applies the plan.
"""

from crmtui.sync.activities.actions import ActivityRun, LocalActivity
from crmtui.sync.activities.mapping import (
    Directory,
    activity_fields,
    activity_time,
    apply_fields,
    build_directory,
    event_fields,
    event_id_for,
    invite_list,
    merged_participants,
    starts_on,
)
from crmtui.sync.activities.planning import ActivityPlan, ActivitySync, plan_activities

__all__ = ["ActivityPlan", "ActivityRun", "ActivitySync", "Directory", "LocalActivity",
           "activity_fields", "activity_time", "apply_fields", "build_directory",
           "event_fields", "event_id_for", "invite_list", "merged_participants",
           "plan_activities", "starts_on"]
