"""The pure, in-memory part of the demo, last piece: facilities (centres, stations, courts), departments."""

import numpy as np

from geo.demo import names
from geo.demo.build import CountyPlan, Level
from geo.demo.events import assign_grids, points_in

# (code suffix, kind, name suffix after the county name, categories it takes): the county's departments
# and its industry mediation committees (行业性专业性人民调解委员会).
DEPARTMENTS = [
    ("police", "police", "公安局", ["neighbour", "traffic_accident", "dispute_other"]),
    ("procuratorate", "procuratorate", "人民检察院", []),
    ("court", "court", "人民法院", ["contract_debt", "marriage_family", "land_forest"]),
    ("justice", "justice", "司法局", ["neighbour", "land_forest", "marriage_family", "dispute_other"]),
    ("petition", "petition", "信访局", ["requisition_demolition", "dispute_other"]),
    ("hrss", "hrss", "人力资源和社会保障局", ["labour_wages", "social_security"]),
    ("housing", "housing", "住房和城乡建设局", ["property_mgmt", "building", "gas"]),
    ("civil_affairs", "civil_affairs", "民政局", ["marriage_family", "social_security"]),
    ("med_property", "mediation_committee", "物业纠纷调解委员会", ["property_mgmt"]),
    ("med_family", "mediation_committee", "婚姻家庭纠纷调解委员会", ["marriage_family"]),
    ("med_labour", "mediation_committee", "劳动争议调解委员会", ["labour_wages"]),
    ("med_medical", "mediation_committee", "医疗纠纷调解委员会", ["medical"]),
    ("med_traffic", "mediation_committee", "交通事故纠纷调解委员会", ["traffic_accident"]),
]


def build_facilities(rng, plan: CountyPlan) -> None:
    """County centre and court at the seat; per township a centre, police station, justice office and
    mediation room; a few people's tribunals (人民法庭); a station in every village."""
    towns, villages = plan.levels["township"], plan.levels["village"]
    rows = _facility_rows(plan.spec.name, towns)
    grids = plan.levels["grid"]
    town_grid = assign_grids(grids, towns.seeds)
    village_grid = assign_grids(grids, villages.seeds)
    anchor = [town_grid[t] for _, _, t in rows] + list(village_grid)
    rows += [("village_station", f"{v}综治工作站", -1) for v in villages.names]
    xy = points_in(rng, grids, np.array(anchor), near=1.0)
    plan.facilities = {
        "kind": [r[0] for r in rows],
        "name": [r[1] for r in rows],
        "xy": xy,
        "phone": [names.landline(rng, plan.spec.adcode) for _ in rows],
    }


def _facility_rows(county: str, towns: Level) -> list[tuple[str, str, int]]:
    """(kind, name, township index) of the county's facilities and of each township's."""
    rows: list[tuple[str, str, int]] = [
        ("county_centre", f"{county}社会治理综合服务中心", 0),
        ("court", f"{county}人民法院", 0),
        ("mediation_room", f"{county}矛盾纠纷多元化解调解室", 0),
    ]
    tribunals = set(np.argsort(-towns.people[1:], kind="stable")[: max(1, len(towns.codes) // 4)] + 1)
    for t, town in enumerate(towns.names):
        short = names.short_name(town)
        rows += [
            ("township_centre", f"{town}综治中心", t),
            ("police_station", f"{short}派出所", t),
            ("justice_office", f"{short}司法所", t),
            ("mediation_room", f"{town}人民调解委员会调解室", t),
        ]
        if t in tribunals:
            rows.append(("court", f"{county}人民法院{short}人民法庭", t))
    return rows


def build_departments(rng, plan: CountyPlan) -> None:
    """The county's departments; the court sits in the court, mediation committees in the county centre."""
    adcode, county = plan.spec.adcode, plan.spec.name
    kinds = plan.facilities["kind"]
    where = {"court": kinds.index("court"), "mediation_committee": kinds.index("county_centre")}
    plan.departments = [
        {
            "code": f"{adcode}-{code}",
            "name": county + suffix,
            "kind": kind,
            "categories": cats,
            "phone": names.landline(rng, adcode),
            "facility": where.get(kind),
        }
        for code, kind, suffix, cats in DEPARTMENTS
    ]
