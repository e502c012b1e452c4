"""Ride-hailing trips for the ETA case (Day 2): a routing-engine ETA and the actual duration.

The generating process
----------------------
A synthetic city of radius 12 km with four dense zones. Trips are requested with a diurnal and
weekly demand curve; pickups and drop-offs fall in the zones or anywhere in the city. The
**routing engine** estimates the trip from the route distance and *static* free-flow speeds
(slower near the centre). The actual duration is::

    duration = (routing_eta × congestion(hour of week, place, weather) + pickup overhead) × N

``congestion`` is the traffic the routing engine does not see: rush hours on weekdays, more near
downtown, worse in rain and snow; plus **place effects the free-flow speed cannot reveal** —
a handful of congested *hotspots* (a bridge, a stadium, a shopping street) drawn anew for every
city (every `random_state`), slower at rush hour — and **a change over time**: a road closure
that starts two weeks before the end of the period and slows every trip in the district around
it. The pickup overhead is the time lost finding the rider, large at the airport. The hotspots
and the closure are the city's latent facts, kept in ``frame.attrs["latent"]`` for the oracle.
``N`` is multiplicative noise independent of everything observable: log-normal jitter times a
heavy-tailed *incident* factor (5 % of trips hit one). Because ``N`` does not depend on the
observables, every conditional quantile of the duration is known exactly:
``quantile_q(duration | x) = m(x) × quantile_q(N)``, which is what :func:`oracle_eta` returns.

All times are UTC, and the city runs on UTC to keep hours of day simple.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from curriculum.datasets._arrays import choice
from curriculum.datasets._validation import (
    check_count,
    check_random_state,
    check_start,
    hour_and_weekday,
    utc_timestamps,
)

CITY_CENTER = (37.7749, -122.4194)  # latitude, longitude of the synthetic city's downtown
CITY_RADIUS_KM = 12.0
KM_PER_DEG_LAT = 111.32

#: name → (east km, north km, spread km, share of trip ends)
ZONES: dict[str, tuple[float, float, float, float]] = {
    "downtown": (0.0, 0.0, 1.2, 0.30),
    "midtown": (3.0, 4.0, 1.5, 0.18),
    "university": (-5.0, 2.5, 1.0, 0.10),
    "airport": (7.0, -9.0, 0.6, 0.08),
}
OUTER_ZONE = "outer"
WEATHER = ("clear", "rain", "snow")
WEATHER_PROBABILITY = (0.72, 0.23, 0.05)
WEATHER_EFFECT = {"clear": 0.0, "rain": 0.18, "snow": 0.45}
WEATHER_BLOCK_HOURS = 6

N_HOTSPOTS = 8
HOTSPOT_STRENGTH = (0.5, 1.2)  # extra congestion at a hotspot's centre (uniform range)
HOTSPOT_RADIUS_KM = (0.6, 1.2)
HOTSPOT_RUSH = 1.5  # a hotspot's congestion is (1 + HOTSPOT_RUSH x traffic) times its strength
CLOSURE_STRENGTH = 1.0  # extra congestion at the closure's centre once it starts
CLOSURE_RADIUS_KM = 2.5  # a main bridge or artery: the detours slow a whole district
CLOSURE_DAYS = 14  # the closure starts this many days before the end of the period
NOISE_SIGMA = 0.12  # log-normal jitter
INCIDENT_RATE = 0.05  # share of trips that hit an incident
INCIDENT_SCALE = 0.6  # an incident multiplies the trip by 1 + 0.6 × Exp(1)


def _bump(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    """``exp(-0.5 * ((x - centre) / width) ** 2)``, evaluated in one buffer."""
    out = np.subtract(x, centre)
    out /= width
    np.square(out, out=out)
    out *= -0.5
    return np.exp(out, out=out)


def _demand(hour_of_day: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    weekday = (
        0.3
        + 1.0 * _bump(hour_of_day, 8.5, 1.2)
        + 1.2 * _bump(hour_of_day, 18.0, 1.8)
        + 0.6 * _bump(hour_of_day, 13.0, 2.0)
        + 0.5 * _bump(hour_of_day, 23.0, 1.5)
    )
    weekend_curve = 0.4 + 0.9 * _bump(hour_of_day, 13.0, 3.5) + 0.9 * _bump(hour_of_day, 23.0, 2.0)
    return np.where(weekend, weekend_curve, weekday)


def traffic(hour_of_day: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    """Congestion from traffic by time (0 = free flow), before the effect of place."""
    weekday = (
        0.08
        + 0.55 * _bump(hour_of_day, 8.25, 1.0)
        + 0.65 * _bump(hour_of_day, 17.75, 1.3)
        + 0.20 * _bump(hour_of_day, 13.0, 2.5)
    )
    weekend_curve = (
        0.08 + 0.30 * _bump(hour_of_day, 14.0, 3.0) + 0.15 * _bump(hour_of_day, 21.0, 2.0)
    )
    return np.where(weekend, weekend_curve, weekday)


def _to_km(lat: np.ndarray, lng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat0, lng0 = CITY_CENTER
    east = np.subtract(lng, lng0)  # (lng - lng0) * KM_PER_DEG_LAT * cos(lat0), in place
    east *= KM_PER_DEG_LAT
    east *= math.cos(math.radians(lat0))
    north = np.subtract(lat, lat0)
    north *= KM_PER_DEG_LAT
    return east, north


def _to_latlng(east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat0, lng0 = CITY_CENTER
    lat = lat0 + north / KM_PER_DEG_LAT
    lng = lng0 + east / (KM_PER_DEG_LAT * math.cos(math.radians(lat0)))
    return lat, lng


ZONE_NAMES = (*ZONES, OUTER_ZONE)


def zone_of(lat: np.ndarray, lng: np.ndarray) -> pd.Categorical:
    """The named zone a point lies in (within 2.5 spreads of its centre), else ``"outer"``."""
    east, north = _to_km(np.asarray(lat, float), np.asarray(lng, float))
    codes = np.full(east.shape, len(ZONES), dtype=np.int8)
    best = np.full(east.shape, np.inf)
    scaled, other, inside = np.empty_like(east), np.empty_like(east), np.empty(east.shape, bool)
    for code, (x, y, spread, _) in enumerate(ZONES.values()):
        # ((east - x) ** 2 + (north - y) ** 2) / spread**2: squared distance in spreads
        np.square(np.subtract(east, x, out=scaled), out=scaled)
        scaled += np.square(np.subtract(north, y, out=other), out=other)
        scaled /= spread**2
        np.less(scaled, 2.5**2, out=inside)
        inside &= scaled < best
        codes[inside] = code
        np.copyto(best, scaled, where=inside)
    return pd.Categorical.from_codes(codes, categories=list(ZONE_NAMES))


def _sample_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    shares = np.array([z[3] for z in ZONES.values()])
    probabilities = np.append(shares, 1.0 - shares.sum())  # the rest: anywhere in the city
    which = rng.choice(len(probabilities), size=n, p=probabilities)
    centres = np.array([(z[0], z[1]) for z in ZONES.values()] + [(0.0, 0.0)])
    spreads = np.array([z[2] for z in ZONES.values()] + [0.0])
    east = centres[which, 0] + rng.normal(size=n) * spreads[which]
    north = centres[which, 1] + rng.normal(size=n) * spreads[which]
    anywhere = which == len(ZONES)
    radius = CITY_RADIUS_KM * np.sqrt(rng.uniform(size=anywhere.sum()))
    angle = rng.uniform(0, 2 * np.pi, size=anywhere.sum())
    east[anywhere], north[anywhere] = radius * np.cos(angle), radius * np.sin(angle)
    scale = np.maximum(1.0, np.hypot(east, north) / CITY_RADIUS_KM)  # keep inside the city
    return east / scale, north / scale


def make_eta_trips(
    n_trips: int = 20_000,
    *,
    start: str | pd.Timestamp = "2025-09-01",
    days: int = 28,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Generate completed ride-hailing trips with a routing-engine ETA and the actual duration.

    Parameters
    ----------
    n_trips : int, default 20_000
        Number of trips.
    start : str or Timestamp, default "2025-09-01"
        First day of the period (UTC; a naive date is taken as UTC).
    days : int, default 28
        Length of the period in days; requests follow a diurnal and weekly demand curve.
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same int gives the same frame on every machine.

    Returns
    -------
    DataFrame
        One row per trip, sorted by request time.

        Columns
        -------
        trip_id : int64
            0, 1, ... in request-time order.
        request_time : datetime64[ns, UTC]
            When the rider requested the trip.
        pickup_lat, pickup_lng, dropoff_lat, dropoff_lng : float64
            Coordinates in degrees (6 decimals).
        pickup_zone, dropoff_zone : category
            Named zone of each end (downtown, midtown, university, airport) or ``outer``.
        route_distance_km : float64
            Length of the route the routing engine plans (2 decimals).
        weather : category
            ``clear``, ``rain`` or ``snow`` at request time (6-hour blocks).
        routing_eta_s : float64
            The routing engine's ETA in whole seconds: route over static free-flow speeds.
        duration_s : float64
            Actual trip duration in whole seconds (the label).
        completed_at : datetime64[ns, UTC]
            When the trip ended: the moment the label becomes available.

        ``frame.attrs["latent"]["eta_places"]`` holds the city's hotspots and closure (what
        :func:`oracle_eta` needs; not features: a real system never sees them).

    Raises
    ------
    ValueError
        If `n_trips` or `days` is not a positive int, `start` is not a date, or
        `random_state` is of the wrong type.
    """
    n = check_count("n_trips", n_trips)
    days = check_count("days", days)
    start_ts = check_start("start", start).normalize()
    rng = check_random_state(random_state)

    # request times: an hour drawn from the demand curve, a second within it
    hours = np.arange(days * 24)
    day_of_week = (start_ts.day_of_week + hours // 24) % 7
    demand = _demand((hours % 24).astype(float), day_of_week >= 5)
    hour = np.sort(choice(rng, n, demand / demand.sum()))  # hours[i] == i
    seconds = hour * 3600.0 + np.floor(rng.uniform(0, 3600, size=n))
    seconds.sort()
    weather_blocks = rng.choice(
        len(WEATHER), size=days * 24 // WEATHER_BLOCK_HOURS + 1, p=WEATHER_PROBABILITY
    )
    weather_code = weather_blocks[(seconds // 3600).astype(np.int64) // WEATHER_BLOCK_HOURS]
    places = _draw_places(rng, days) | {"start": start_ts.isoformat()}

    pick_e, pick_n = _sample_points(rng, n)
    drop_e, drop_n = _sample_points(rng, n)
    straight = np.hypot(drop_e - pick_e, drop_n - pick_n)
    detour = 1.2 + 0.25 * rng.beta(2.0, 5.0, size=n)
    route_km = np.round(np.maximum(straight, 0.3) * detour, 2)
    pickup_lat, pickup_lng = _to_latlng(pick_e, pick_n)
    dropoff_lat, dropoff_lng = _to_latlng(drop_e, drop_n)

    pickup_lat, pickup_lng = np.round(pickup_lat, 6), np.round(pickup_lng, 6)
    dropoff_lat, dropoff_lng = np.round(dropoff_lat, 6), np.round(dropoff_lng, 6)
    trips = pd.DataFrame(
        {
            "trip_id": np.arange(n, dtype=np.int64),
            "request_time": utc_timestamps(start_ts, seconds),
            "pickup_lat": pickup_lat,
            "pickup_lng": pickup_lng,
            "dropoff_lat": dropoff_lat,
            "dropoff_lng": dropoff_lng,
            "pickup_zone": zone_of(pickup_lat, pickup_lng),
            "dropoff_zone": zone_of(dropoff_lat, dropoff_lng),
            "route_distance_km": route_km,
            "weather": pd.Categorical.from_codes(weather_code, categories=list(WEATHER)),
        },
        copy=False,  # every column is a fresh array: no second copy at the peak
    )
    trips.attrs["latent"] = {"eta_places": places}
    geometry = _geometry(trips)
    trips["routing_eta_s"] = _routing_eta(route_km, geometry[0])
    duration = np.exp(NOISE_SIGMA * rng.normal(size=n))  # the noise factor N, then times m(x)
    incident = rng.uniform(size=n) < INCIDENT_RATE
    duration *= 1.0 + INCIDENT_SCALE * incident * rng.exponential(size=n)
    duration *= _median_free_mean(trips, geometry, places)
    trips["duration_s"] = np.round(duration)
    trips["completed_at"] = trips["request_time"] + pd.to_timedelta(trips["duration_s"], unit="s")
    return trips


def _geometry(trips: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance of the trip's midpoint from downtown, and the pickup in km east/north."""
    pick_e, pick_n = _to_km(trips["pickup_lat"].to_numpy(), trips["pickup_lng"].to_numpy())
    drop_e, drop_n = _to_km(trips["dropoff_lat"].to_numpy(), trips["dropoff_lng"].to_numpy())
    drop_e += pick_e  # the midpoint, (pick + drop) / 2, in place
    drop_e /= 2
    drop_n += pick_n
    drop_n /= 2
    return np.hypot(drop_e, drop_n, out=drop_e), pick_e, pick_n


def _routing_eta(route_km: np.ndarray, mid: np.ndarray) -> np.ndarray:
    free_flow_kmh = 22.0 + 26.0 * (1.0 - np.exp(-mid / 4.0))
    return np.round(route_km / free_flow_kmh * 3600.0 + 20.0)


def _median_free_mean(
    trips: pd.DataFrame,
    geometry: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    places: dict | None = None,
) -> np.ndarray:
    """m(x): the duration before the noise factor N (observable columns and latent places)."""
    if places is None:
        places = _places_of(trips)
    mid, pick_e, pick_n = _geometry(trips) if geometry is None else geometry
    # the formulas below are evaluated in place, in the order written, so the values are those of
    #   congestion = 1 + traffic(hour, weekend) * density + weather * (0.5 + 0.5 * density)
    #   overhead = 45 + 90 * bump(|pickup|, 1.2) + 240 * bump(|pickup - airport|, 0.8)
    #   m(x) = routing_eta * congestion + overhead
    congestion = _traffic_to_the_minute(trips["request_time"])
    rush = congestion * HOTSPOT_RUSH  # hotspots weigh more at rush hour: 1 + HOTSPOT_RUSH x traffic
    rush += 1.0
    density = _bump(mid, 0.0, 3.5)
    density *= 0.65
    density += 0.35
    congestion *= density
    congestion += 1.0
    effects = np.array([WEATHER_EFFECT[w] for w in WEATHER])
    weather = effects[pd.Categorical(trips["weather"], categories=list(WEATHER)).codes]
    density *= 0.5
    density += 0.5
    weather *= density
    congestion += weather
    del weather, density
    # place effects: hotspots (worse at rush hour) and the closure (from its start on)
    drop_e, drop_n = _to_km(trips["dropoff_lat"].to_numpy(), trips["dropoff_lng"].to_numpy())
    for east, north, radius, strength in places["hotspots"]:
        near = _ends_near(pick_e, pick_n, drop_e, drop_n, east, north, radius)
        near *= strength
        near *= rush
        congestion += near
    closure = places.get("closure")
    if closure is not None:
        east, north, radius, strength, start_s = closure
        near = _ends_near(pick_e, pick_n, drop_e, drop_n, east, north, radius)
        near *= strength
        seconds = (trips["request_time"] - pd.Timestamp(places["start"])).dt.total_seconds()
        near *= seconds.to_numpy() >= start_s
        congestion += near
    del rush
    airport_e, airport_n = ZONES["airport"][:2]
    overhead = _bump(np.hypot(pick_e, pick_n), 0.0, 1.2)
    overhead *= 90.0
    overhead += 45.0
    near_airport = _bump(np.hypot(pick_e - airport_e, pick_n - airport_n), 0.0, 0.8)
    near_airport *= 240.0
    overhead += near_airport
    del near_airport
    congestion *= trips["routing_eta_s"].to_numpy(dtype=float)
    congestion += overhead
    return congestion


def _ends_near(
    pick_e: np.ndarray,
    pick_n: np.ndarray,
    drop_e: np.ndarray,
    drop_n: np.ndarray,
    east: float,
    north: float,
    radius: float,
) -> np.ndarray:
    """How much of a trip's two ends lies near a place: mean of a Gaussian bump at each end."""
    near = _bump(np.hypot(pick_e - east, pick_n - north), 0.0, radius)
    near += _bump(np.hypot(drop_e - east, drop_n - north), 0.0, radius)
    near *= 0.5
    return near


def _draw_places(rng: np.random.Generator, days: int) -> dict:
    """The city's hotspots and, for periods of at least two weeks, a closure near the end."""
    east, north = _sample_points(rng, N_HOTSPOTS + 1)  # where trips go: where congestion bites
    size = rng.uniform(*HOTSPOT_RADIUS_KM, size=N_HOTSPOTS)
    strength = rng.uniform(*HOTSPOT_STRENGTH, size=N_HOTSPOTS)
    hotspots = [
        [round(float(e), 4), round(float(n), 4), round(float(r), 4), round(float(a), 4)]
        for e, n, r, a in zip(east[:-1], north[:-1], size, strength, strict=True)
    ]
    closure = None
    if days >= 2 * CLOSURE_DAYS:
        start_s = float((days - CLOSURE_DAYS) * 86_400)
        closure = [
            round(float(east[-1]), 4),
            round(float(north[-1]), 4),
            CLOSURE_RADIUS_KM,
            CLOSURE_STRENGTH,
            start_s,
        ]
    return {"hotspots": hotspots, "closure": closure}


def _places_of(trips: pd.DataFrame) -> dict:
    latent = trips.attrs.get("latent") or {}
    if "eta_places" not in latent:
        raise ValueError(
            "trips carries no latent places (attrs['latent']['eta_places']): pass the frame "
            "from make_eta_trips, or a subset of it"
        )
    return latent["eta_places"]


def _traffic_to_the_minute(request_time: pd.Series) -> np.ndarray:
    """``traffic`` at each request's minute, looked up in a table of the week's minutes."""
    hour, weekday = hour_and_weekday(request_time)
    minute = np.floor(hour * 60.0).astype(np.int64)
    minute[weekday >= 5] += 24 * 60
    of_day = np.arange(24 * 60) / 60.0
    table = np.concatenate(
        [traffic(of_day, np.zeros(of_day.size, bool)), traffic(of_day, np.ones(of_day.size, bool))]
    )
    return table[minute]


def _noise_cdf(t: float) -> float:
    from scipy import integrate, stats

    if t <= 0:
        return 0.0
    plain = stats.norm.cdf(math.log(t) / NOISE_SIGMA)

    def with_incident(e: float) -> float:
        return stats.norm.cdf(
            (math.log(t) - math.log1p(INCIDENT_SCALE * e)) / NOISE_SIGMA
        ) * math.exp(-e)

    hit, _ = integrate.quad(with_incident, 0.0, np.inf, limit=200)
    return (1.0 - INCIDENT_RATE) * plain + INCIDENT_RATE * hit


@functools.cache
def noise_quantile(q: float) -> float:
    """The q-quantile of the noise factor N (exact, by numerical integration)."""
    from scipy import optimize

    return float(optimize.brentq(lambda t: _noise_cdf(t) - q, 1e-3, 100.0, xtol=1e-12))


def noise_mean() -> float:
    """E[N]: log-normal mean times the expected incident factor."""
    return math.exp(NOISE_SIGMA**2 / 2) * (1.0 + INCIDENT_RATE * INCIDENT_SCALE)


def oracle_eta(trips: pd.DataFrame, *, statistic: str | float = "median") -> pd.Series:
    """The best possible prediction of ``duration_s`` from the observable columns.

    Parameters
    ----------
    trips : DataFrame
        Trips from :func:`make_eta_trips` (the label column is not used).
    statistic : "median", "mean" or float in (0, 1), default "median"
        What to predict: the conditional median minimises absolute error (MAE), the mean
        minimises squared error, a quantile ``q`` minimises the pinball loss at ``q`` (0.9 for a
        P90 ETA that is late only one time in ten).

    Returns
    -------
    Series
        Predicted duration in seconds, aligned with `trips`.
    """
    if statistic == "median":
        factor = noise_quantile(0.5)
    elif statistic == "mean":
        factor = noise_mean()
    elif isinstance(statistic, float) and 0.0 < statistic < 1.0:
        factor = noise_quantile(statistic)
    else:
        raise ValueError(
            f"statistic must be 'median', 'mean' or a float in (0, 1), got {statistic!r}"
        )
    return pd.Series(_median_free_mean(trips) * factor, index=trips.index, name="oracle_eta_s")


def closure_slowdown(trips: pd.DataFrame) -> pd.Series:
    """How much slower the closure makes each trip: oracle ETA with it / without it, minus 1.

    0 for trips requested before the closure starts or far from it, and for periods too short
    to have one. Graders use it to pick the trips a change over time affects.

    Parameters
    ----------
    trips : DataFrame
        Trips from :func:`make_eta_trips` (or a subset, with its latent places).

    Returns
    -------
    Series
        The relative slowdown (0.3 = 30 % slower), aligned with `trips`.
    """
    places = _places_of(trips)
    with_it = _median_free_mean(trips, places=places)
    without = _median_free_mean(trips, places={**places, "closure": None})
    return pd.Series(with_it / without - 1.0, index=trips.index, name="closure_slowdown")


def baseline_eta(trips: pd.DataFrame) -> pd.Series:
    """What a first system ships: the routing engine's ETA as is."""
    return trips["routing_eta_s"].astype(float).rename("baseline_eta_s")
