"""Address normalisation for ERP documents: ISO 3166-1 alpha-2 countries, US/CA state codes."""

from integrations.sage.base import Address

_COUNTRIES = {
    "US": "US", "USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
    "U.S.": "US", "U.S.A.": "US",
    "CA": "CA", "CAN": "CA", "CANADA": "CA",
    "MX": "MX", "MEX": "MX", "MEXICO": "MX",
    "GB": "GB", "UK": "GB", "GBR": "GB", "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB",
    "FR": "FR", "FRA": "FR", "FRANCE": "FR",
    "DE": "DE", "DEU": "DE", "GERMANY": "DE",
    "AU": "AU", "AUS": "AU", "AUSTRALIA": "AU",
}  # fmt: skip

_US_STATES = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
    "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
    "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
    "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM",
    "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK",
    "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR",
}  # fmt: skip

_CA_PROVINCES = {
    "ALBERTA": "AB", "BRITISH COLUMBIA": "BC", "MANITOBA": "MB", "NEW BRUNSWICK": "NB",
    "NEWFOUNDLAND AND LABRADOR": "NL", "NOVA SCOTIA": "NS", "NORTHWEST TERRITORIES": "NT", "NUNAVUT": "NU",
    "ONTARIO": "ON", "PRINCE EDWARD ISLAND": "PE", "QUEBEC": "QC", "QUÉBEC": "QC", "SASKATCHEWAN": "SK",
    "YUKON": "YT",
}  # fmt: skip

_REGIONS = {"US": _US_STATES, "CA": _CA_PROVINCES}


def country_normalize(value: str) -> str:
    key = " ".join((value or "").upper().split())
    return _COUNTRIES.get(key, key if len(key) == 2 else "")


def state_normalize(value: str, *, country: str) -> str:
    key = " ".join((value or "").upper().split())
    regions = _REGIONS.get(country)
    if regions is None:
        return (value or "").strip()
    if key in regions.values():
        return key
    return regions.get(key, key)


def postal_code_normalize(value: str, *, country: str) -> str:
    text = " ".join((value or "").upper().split())
    if country == "CA" and len(text.replace(" ", "")) == 6:
        compact = text.replace(" ", "")
        return f"{compact[:3]} {compact[3:]}"
    return text


def address_normalize(address: Address) -> Address:
    country = country_normalize(address.country) or "US"
    return Address(
        line1=address.line1.strip(),
        line2=address.line2.strip(),
        city=address.city.strip(),
        state=state_normalize(address.state, country=country),
        postal_code=postal_code_normalize(address.postal_code, country=country),
        country=country,
    )
