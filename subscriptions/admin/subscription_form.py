"""The subscription admin's form: the address is the subscriber's, the database's rules and the
cap on live moods checked before a save."""

from django import forms

from .. import moods, selectors
from ..forms import PlainEmailField
from ..models import Subscriber, Subscription, normalize_term


class SubscriptionAdminForm(forms.ModelForm):
    """The address is the subscriber's (one per inbox): correcting it here moves the
    subscription to the subscriber of that inbox, made if it is new. Editing a subscription
    back to life is "Mark active" by hand: the same guard holds."""

    email = PlainEmailField(label="Email address")

    class Meta:
        model = Subscription
        fields = ["term", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.subscriber_id is not None:
            self.fields["email"].initial = self.instance.subscriber.email

    def clean(self):
        cleaned = super().clean()
        status, email, term = cleaned.get("status"), cleaned.get("email"), cleaned.get("term")
        if not email:
            return cleaned
        reviving = status in Subscription.LIVE_STATUSES and (
            self.instance.pk is None or self.instance.status not in Subscription.LIVE_STATUSES
        )
        if reviving and selectors.address_is_suppressed(email=email):
            raise forms.ValidationError(
                "This address bounced or complained. Clear its bounce/complaint with the "
                "action on the subscriptions list first."
            )
        # The subscriber is not a field of the form, so the form leaves the model's
        # one-live-per-subscriber-and-term constraint out: check it on the row as it will be.
        subscriber = selectors.address_subscriber(email=email)
        if subscriber is not None and term:
            row = Subscription(
                pk=self.instance.pk, subscriber=subscriber, term=normalize_term(term), status=status
            )
            row._state.adding = self.instance._state.adding  # an edit is not its own duplicate
            row.validate_constraints()
        if subscriber is not None and status in Subscription.LIVE_STATUSES:
            self._check_room(subscriber)
        return cleaned

    def _check_room(self, subscriber):
        """One more live mood for `subscriber` (new, revived, or moved from another inbox)
        must fit MAX_MOODS_PER_SUBSCRIBER. Checked under the subscriber's row lock, which the
        admin's save holds until it commits (its change view is one transaction)."""
        already_live_here = (
            self.instance.pk is not None
            and self.instance.status in Subscription.LIVE_STATUSES
            and self.instance.subscriber_id == subscriber.pk
        )
        if already_live_here:
            return
        try:
            moods.room_claim(subscriber_id=subscriber.pk)
        except moods.TooManyMoods:
            raise forms.ValidationError(
                "%(email)s has %(cap)d moods, the most we send to one address: stop one first.",
                code="too_many_moods",
                params={"email": subscriber.email, "cap": moods.mood_cap()},
            ) from None

    def save(self, commit=True):
        self.instance.subscriber = Subscriber.for_address(self.cleaned_data["email"])
        return super().save(commit)
