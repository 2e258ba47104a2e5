"""The admin's money lists (changelists): a search that recognises what it is given and looks it up through
an index, date-range and fixed-choice filters, an estimated count where an exact one is too dear, totals per
currency and a streamed CSV export of exactly what is shown. Each part is its own module;
`MoneyListAdminMixin` puts them together for a ModelAdmin."""
