"""Pattern reports: what the cases teach together, in figures a mechanism can publish without exposing anyone.

`facts` reads what a report needs of each case from the operator's store; `figures` computes
the tables and timings of a period (the internal profile: every count); `public` the public
profile, for calendar periods only (`periods`), from `release`, which decides what of a year's
tables may be published so that no report, alone or with others, gives a count under k away,
with `suppression`, the disclosure control; `snapshot` records the months public reports rest
on; `referral_figures` reads the desk's referrals and gives their internal figures,
`referral_public` their public ones (a release and a record of their own); `charts` and
`render` write the HTML, CSV, JSON and PDF files; `cli` holds `grievance report` and
`grievance demo-data`; `demo` makes fake cases to try it on.
"""
