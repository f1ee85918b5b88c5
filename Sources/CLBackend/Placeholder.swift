import TensorGraph
import CLRuntime
