"""Live views of a lab (ipywidgets + plotly). They read the lab and never provision it; fault
controls act on the lab's own containers through its fault methods."""

from labs.views.charts import LiveCharts
from labs.views.dashboard import Dashboard
from labs.views.sampler import LabSample, LabSampler
from labs.views.topology_map import TopologyMap
from labs.views.tracer import Tracer, TraceResult, expected_path

__all__ = ["Dashboard", "LabSample", "LabSampler", "LiveCharts", "TopologyMap", "TraceResult", "Tracer",
           "expected_path"]
