"""Stock pages: a transfer's discrepancy resolved, a batch recalled by a state administrator."""

from typing import Any

import pytest

from vaxnet.core.models import User
from vaxnet.stock.models import Batch, Store, Transfer
from vaxnet.stock.requisitions import transfer_dispatch, transfer_receive
from vaxnet.stock.services import stock_receive

from .ledger_helpers import NOW, make_batch, refusal_code, signed_in, stocked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def text(response: Any) -> str:
    return str(response.content.decode())


def store_url(store: Store) -> str:
    return f"/stock/stores/{store.public_id}/"


def resolve_url(transfer: Transfer) -> str:
    return f"/stock/transfers/{transfer.public_id}/resolve/"


def recall_url(store: Store, batch: Batch) -> str:
    return f"/stock/stores/{store.public_id}/batches/{batch.public_id}/recall/"


def short_transfer(district: Store, phc: Store, lot: str) -> Transfer:
    """Send 100 doses from the district to the PHC, of which 80 arrive."""
    batch = stocked(district, make_batch(lot), 200)
    transfer = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 100})
    return transfer_receive(by=None, transfer=transfer, received={batch: 80})


# --- resolving a discrepancy ------------------------------------------------------------------


def test_it_resolves_a_discrepancy_from_the_store_page(
    district: Store, phc: Store, store_keeper: User
) -> None:
    transfer = short_transfer(district, phc, "R-1")
    client = signed_in(store_keeper, csrf=True)
    page = text(client.get(store_url(phc)))
    assert "Transfers with a discrepancy" in page
    assert resolve_url(transfer) in page
    form = client.get(resolve_url(transfer))
    assert form.status_code == 200
    assert 'for="id_resolution"' in text(form)

    done = client.post(
        resolve_url(transfer),
        {
            "resolution": "20 doses found in the van",
            "csrfmiddlewaretoken": form.context["csrf_token"],
        },
        follow=True,
    )

    assert done.redirect_chain[-1][0] == store_url(phc)
    assert "discrepancy is resolved" in text(done)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.RESOLVED
    assert transfer.resolution == "20 doses found in the van"
    assert resolve_url(transfer) not in text(done)


def test_it_refuses_an_empty_note_and_a_transfer_without_discrepancy(
    district: Store, phc: Store, store_keeper: User
) -> None:
    transfer = short_transfer(district, phc, "R-2")
    batch = stocked(district, make_batch("R-3"), 100)
    whole = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 50})
    transfer_receive(by=None, transfer=whole)
    client = signed_in(store_keeper)

    empty = client.post(resolve_url(transfer), {"resolution": "   "})
    clean = client.post(resolve_url(whole), {"resolution": "Nothing to say"})

    assert empty.status_code == 400
    assert "Say how the discrepancy was resolved." in text(empty)
    assert 'aria-invalid="true"' in text(empty)
    assert clean.status_code == 400
    assert "no discrepancy waiting" in text(clean)
    transfer.refresh_from_db()
    whole.refresh_from_db()
    assert transfer.status == Transfer.Status.DISCREPANCY
    assert whole.status == Transfer.Status.RECEIVED


def test_a_discrepancy_answers_404_to_an_outsider(
    district: Store, phc: Store, outsider: User, district_admin: User
) -> None:
    transfer = short_transfer(district, phc, "R-4")

    assert signed_in(outsider).get(resolve_url(transfer)).status_code == 404
    assert signed_in(outsider).post(resolve_url(transfer), {"resolution": "x"}).status_code == 404
    # The district administrator is at the source's end.
    assert signed_in(district_admin).get(resolve_url(transfer)).status_code == 200
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DISCREPANCY


# --- recalling a batch ------------------------------------------------------------------------


def test_a_state_admin_recalls_a_batch_which_can_no_longer_be_received(
    phc: Store, state_admin: User
) -> None:
    batch = stocked(phc, make_batch("RC-1"), 100)
    client = signed_in(state_admin)
    assert recall_url(phc, batch) in text(client.get(store_url(phc)))

    refused = client.post(recall_url(phc, batch), {"reason": ""})
    done = client.post(recall_url(phc, batch), {"reason": "Contaminated"}, follow=True)
    again = client.post(recall_url(phc, batch), {"reason": "Twice"})

    assert refused.status_code == 400
    assert "Say why the batch is recalled." in text(refused)
    assert done.redirect_chain[-1][0] == store_url(phc)
    assert "Lot RC-1 is recalled in every store." in text(done)
    assert recall_url(phc, batch) not in text(done)
    assert again.status_code == 400
    assert "recalled already" in text(again)
    batch.refresh_from_db()
    assert batch.is_recalled()
    assert batch.recall_reason == "Contaminated"
    code = refusal_code(
        stock_receive, by=None, store=phc, batch=batch, doses=10, supplier="Maker", now=NOW
    )
    assert code == "batch_recalled"


def test_only_state_and_national_admins_may_recall(
    phc: Store, district_admin: User, store_keeper: User, national_admin: User
) -> None:
    batch = stocked(phc, make_batch("RC-2"), 100)

    for user in (district_admin, store_keeper):
        client = signed_in(user)
        page = client.get(store_url(phc))
        assert page.status_code == 200
        assert "RC-2" in text(page)
        assert recall_url(phc, batch) not in text(page)
        assert ">Recall<" not in text(page)
        assert client.get(recall_url(phc, batch)).status_code == 404
        assert client.post(recall_url(phc, batch), {"reason": "No"}).status_code == 404
    assert signed_in(national_admin).get(recall_url(phc, batch)).status_code == 200
    batch.refresh_from_db()
    assert not batch.is_recalled()


def test_a_batch_not_held_by_the_store_answers_404(
    phc: Store, district: Store, state_admin: User
) -> None:
    elsewhere = stocked(district, make_batch("RC-3"), 100)

    assert signed_in(state_admin).get(recall_url(phc, elsewhere)).status_code == 404
