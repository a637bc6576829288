"""The instructor side: the answers (the reference loaded from ``solutions/``, the mistake
catalogues, the hidden cases), the sandbox that runs student code, nbgrader's glue, class
grading, the cluster, reports and the student release. Never inside a sandbox."""
