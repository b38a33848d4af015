"""DeduplicateRecords drops repeats of a shifting listing with a memory that does not grow with the sync."""
from airbyte_cdk.sources.types import StreamSlice

from source_sentry.components import PAGES_REMEMBERED, SLICES_REMEMBERED, DeduplicateRecords


def ids(records):
    return [record.get("id") for record in records]


def page(first, last):
    return [{"id": str(n)} for n in range(first, last)]


def read_page(dedupe, records, project="web", window="2026-01-01"):
    slice_ = StreamSlice(partition={"project": project}, cursor_slice={"start_time": window})
    return ids(dedupe.filter_records(records, stream_state={}, stream_slice=slice_))


def test_given_a_page_that_repeats_the_end_of_the_previous_one_then_the_repeats_are_dropped():
    dedupe = DeduplicateRecords(config={}, parameters={})
    assert read_page(dedupe, page(0, 100)) == ids(page(0, 100))
    # 3 records arrived ahead: the next page starts with the last 3 of the previous one
    assert read_page(dedupe, page(97, 197)) == ids(page(100, 197))


def test_given_another_slice_then_its_records_are_not_dropped():
    dedupe = DeduplicateRecords(config={}, parameters={})
    read_page(dedupe, page(0, 100), project="web")
    assert read_page(dedupe, page(0, 100), project="api") == ids(page(0, 100))
    assert read_page(dedupe, page(0, 100), project="web", window="2026-02-01") == ids(page(0, 100))


def test_given_a_long_listing_then_memory_holds_a_few_pages_of_a_few_slices():
    dedupe = DeduplicateRecords(config={}, parameters={})
    for number in range(1000):
        read_page(dedupe, page(number * 100, number * 100 + 100))
    for project in range(SLICES_REMEMBERED * 2):
        read_page(dedupe, page(0, 100), project=str(project))
    assert len(dedupe._pages) == SLICES_REMEMBERED
    assert all(len(pages) <= PAGES_REMEMBERED for pages in dedupe._pages.values())


def test_given_records_without_an_id_and_a_condition_then_they_pass_and_the_condition_applies():
    dedupe = DeduplicateRecords(config={}, parameters={}, condition="{{ record.get('keep', True) }}")
    records = [{"name": "no id"}, {"id": "1"}, {"id": "2", "keep": False}, {"id": "1"}]
    assert read_page(dedupe, records) == [None, "1"]
