# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (sendlib)
#     language: python
#     name: sendlib
# ---

# %% [markdown]
# <!-- DEVELOPMENT VERSION written for the report runner: title, one table, one chart. The lead replaces
#      this content and keeps the parameter `la`. -->

# %% tags=["parameters"]
la = "886"

# %%
import html

from IPython.display import HTML, Markdown, display

from sendlib import plots
from sendlib.data import load
from sendlib.geography import region_las, resolve_area
from sendlib.periods import january_for_financial_year

area = resolve_area(la, levels=("la",), parameter="la")
name = str(area["area_name"])
display(Markdown(f"# SEND high needs funding: {html.escape(name)}\n\n"
                 f"LA code {html.escape(str(area['area_code']))}, {html.escape(str(area['region_name']))}."))

# %% [markdown]
# ## Funding per EHC plan

# %%
hnb = load("high_needs_block")
ehcp = load("ehcp")[["area_code", "january", "ehc_plans"]]
frame = hnb[hnb["level"] == "la"][["area_code", "financial_year", "hnb_before_deductions_gbp"]].copy()
frame["january"] = [january_for_financial_year(y) for y in frame["financial_year"]]
frame = frame.merge(ehcp, on=["area_code", "january"], how="left")
frame["hnb_m"] = frame["hnb_before_deductions_gbp"] / 1e6
frame["per_plan"] = frame["hnb_before_deductions_gbp"] / frame["ehc_plans"]
own = frame[frame["area_code"] == area["area_code"]].sort_values("financial_year")
shown = own.rename(columns={"financial_year": "Financial year", "hnb_m": "High needs block (£m)",
                            "ehc_plans": "EHC plans (January)", "per_plan": "£ per plan"})
display(HTML(shown[["Financial year", "High needs block (£m)", "EHC plans (January)", "£ per plan"]].to_html(
    index=False, border=0, na_rep="not available",
    formatters={"High needs block (£m)": "{:,.0f}".format, "EHC plans (January)": "{:,.0f}".format,
                "£ per plan": "{:,.0f}".format})))

# %% [markdown]
# ## Compared with the region

# %%
year = own.dropna(subset=["per_plan"])["financial_year"].max() if own["per_plan"].notna().any() else None
if year is None:
    display(Markdown("No year has both funding and plans for this LA, so there is no comparison."))
else:
    neighbours = region_las(str(area["region_code"]), current_only=True)
    names = dict(zip(neighbours["area_code"], neighbours["area_name"], strict=True))
    latest = frame[(frame["financial_year"] == year) & frame["area_code"].isin(names)].copy()
    latest["label"] = latest["area_code"].map(names)
    programmes = load("programmes")
    groups = {"safety_valve": "Safety Valve", "dbv": "Delivering Better Value"}
    membership = {names[c]: groups[p] for c, p in zip(programmes["area_code"], programmes["programme"],
                                                      strict=True) if c in names and p in groups}
    latest = latest.dropna(subset=["per_plan"]).sort_values("per_plan", ascending=False)
    rank = list(latest["area_code"]).index(area["area_code"]) + 1
    plots.ranked_bar_chart(
        latest, value="per_plan", label="label", focus=name, highlight=membership, unit="£ per plan",
        xlabel=f"High needs block per EHC plan, {year} (£ per plan)",
        title=f"{name} ranks {rank} of {len(latest)} in {area['region_name']} for funding per plan in {year}",
        source="DfE DSG allocations (high needs block), SEN2 EHC plans, DfE programme lists; sendlib")
