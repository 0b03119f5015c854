# send the grader one 200 MB output message, then 60 widget messages of 8 MB each (the grader keeps a
# alone
# widget's state unless it is told not to)
from IPython import get_ipython
from IPython.display import display

display({"text/plain": "x" * 200_000_000}, raw=True)
kernel = get_ipython().kernel
state = {"_model_name": "DOMWidgetModel", "_model_module": "@jupyter-widgets/base", "value": "y" * 8_000_000}
for number in range(60):
    kernel.session.send(kernel.iopub_socket, "comm_open",
                        {"comm_id": f"c{number}", "target_name": "jupyter.widget",
                         "data": {"state": state, "buffer_paths": []}},
                        parent=kernel.get_parent("shell"))
