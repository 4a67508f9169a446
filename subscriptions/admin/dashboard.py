"""The admin's health dashboard, the record of daily runs and the complaint breaker's switch."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST, require_safe

from ..daily import runs
from ..listening.figures import listening_board
from ..models import BreakerClearance, SendRun, Subscriber, Subscription
from . import charts, exports, figures
from .history import ReadOnlyAdminMixin
from .listening import listening_charts
from .staff import StaffRequest


@admin.register(SendRun)
class SendRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "started_at",
        "day",
        "outcome",
        "exit_status",
        "emails",
        "failed",
        "unknown",
        "skipped",
        "spotify_calls",
        "mailgun_calls",
        "seconds",
        "batches",
        "dry_run",
    ]
    list_filter = ["outcome", "workers", "dry_run"]
    date_hierarchy = "started_at"
    fields = [
        ("started_at", "finished_at", "seconds"),
        ("day", "dry_run", "workers", "slot"),
        ("outcome", "exit_status"),
        ("batches_done", "batches_total", "searches_done", "searches_total"),
        ("emails", "failed", "unknown", "skipped"),
        ("spotify_calls", "mailgun_calls"),
        "summary",
        "error",
    ]

    @admin.display(description="batches done")
    def batches(self, run: SendRun) -> str:
        """A run on the workers: its batches done out of those planned, live while it goes
        (each batch adds its counts to the other columns as it ends)."""
        if not run.workers:
            return "in-process"
        return f"{run.batches_done} / {run.batches_total}"


@admin.register(BreakerClearance)
class BreakerClearanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "staff_name", "complaint_rate", "created_at"]
    fields = ["day", "staff_name", "complaint_rate", "created_at"]


VIA_CSS = {
    Subscription.Via.LINK: "series-link",
    Subscription.Via.MANAGE: "series-manage",
    Subscription.Via.ONE_CLICK: "series-one-click",
    Subscription.Via.PROVIDER: "series-provider",
    Subscription.Via.STAFF: "series-staff",
}


def _charts(days):
    def unsubscribed(via):
        return lambda day: day.unsubscribed.get(via, 0)

    made = [
        charts.stacked_bars(
            days,
            [
                ("Sent", "series-sent", lambda day: day.sent),
                ("Failed", "series-failed", lambda day: day.failed),
                ("Unknown", "series-unknown", lambda day: day.unknown),
            ],
            title="Daily emails",
            description="Daily emails per day: sent, failed and unknown.",
        ),
        charts.stacked_bars(
            days,
            [("Confirmed", "series-confirmed", lambda day: day.confirmed)],
            title="New confirmed subscribers",
            description="Addresses that confirmed a subscription, per day.",
        ),
        charts.stacked_bars(
            days,
            [(via.label, VIA_CSS[via], unsubscribed(via.value)) for via in Subscription.Via],
            title="Unsubscribes",
            description="Subscriptions stopped per day, by how.",
        ),
        charts.stacked_bars(
            days,
            [
                ("Bounced", "series-bounced", lambda day: day.bounced),
                ("Complained", "series-complained", lambda day: day.complained),
            ],
            title="Bounces and complaints",
            description="Bounce and complaint events from Mailgun, per day.",
        ),
        charts.rate_lines(
            days,
            [
                ("Complaint rate", "series-complained", lambda day: day.complaint_rate),
                ("Bounce rate", "series-bounced", lambda day: day.bounce_rate),
            ],
            guides=[
                (figures.COMPLAINT_RATE_ASKED, "0.1 % (Google asks for under this)", "guide-ask"),
                (figures.COMPLAINT_RATE_LIMIT, "0.3 % (providers throttle here)", "guide-limit"),
            ],
            title="Complaint and bounce rates",
            description="Complaints and bounces as a share of the day's emails sent, against "
            "the 0.1 % and 0.3 % lines.",
        ),
    ]
    for number, chart in enumerate(made, start=1):
        chart.slug = f"chart-{number}"
    return made


@require_safe
def dashboard_view(request: HttpRequest) -> HttpResponse:
    board = figures.dashboard()
    made = _charts(board.days)
    listening = listening_board()
    context = {
        **admin.site.each_context(request),
        "title": "List health",
        "board": board,
        "totals": board.totals,
        "charts": made,
        "listening": listening,
        "listening_charts": listening_charts(listening.days, first_number=len(made) + 1),
        "vias": list(Subscription.Via),
        "can_clear_breaker": request.user.has_perm("subscriptions.add_breakerclearance"),
    }
    return TemplateResponse(request, "admin/subscriptions/dashboard.html", context)


@require_POST
def breaker_clear_view(request: StaffRequest) -> HttpResponse:
    if not request.user.has_perm("subscriptions.add_breakerclearance"):
        raise PermissionDenied
    clearance = runs.complaint_breaker_clear(staff_user=request.user)
    messages.success(
        request,
        f"The complaint breaker is cleared for {clearance.day}: today's email may go out. "
        "It applies again tomorrow if the rate is still over the line.",
    )
    return HttpResponseRedirect(reverse("admin-dashboard"))


@require_safe
def subscribers_csv_view(request: HttpRequest) -> HttpResponseBase:
    if not request.user.has_perm("subscriptions.view_subscriber"):
        raise PermissionDenied
    return exports.subscribers_csv_response(Subscriber.objects.all())


urlpatterns = [
    path("", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("clear-breaker/", admin.site.admin_view(breaker_clear_view), name="admin-breaker-clear"),
    path(
        "subscribers.csv",
        admin.site.admin_view(subscribers_csv_view),
        name="admin-subscribers-csv",
    ),
]
