"""Pattern reports: what the cases teach together, in figures a mechanism can publish without exposing anyone.

`facts` reads what a report needs of each case from the operator's store; `figures` computes
the tables and timings of a period under a profile; `suppression` is the disclosure control
of the public profile; `charts` and `render` write the HTML, CSV, JSON and PDF files; `cli`
holds `grievance report` and `grievance demo-data`; `demo` makes fake cases to try it on.
"""
